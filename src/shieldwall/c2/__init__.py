"""Battle management (command and control): threat evaluation, engagement feasibility, and
weapon-target assignment under doctrine.

Pipeline of one battle-management cycle (docs/internals.md, c2)::

    assessment = evaluate_threats(picture, assets, time_s)
    candidates = feasible_engagements(picture, assessment, units, rounds, interceptors, time_s)
    decisions = GreedyAssigner(doctrine).assign(candidates, assessment, rounds, free_channels,
                                                engaged, time_s)

The static WTA of docs/formats.md §8 (``wta_objective``, ``greedy_mmr``, ``brute_force_wta``,
and the front end ``solve_wta``: greedy, heuristic, exact) is exposed for ``shieldwall wta``.
"""

from shieldwall.c2.assignment import GreedyAssigner
from shieldwall.c2.feasibility import (
    EngagementFeasibility,
    TargetMotion,
    extended_time_to_distance,
    feasible_engagements,
    solve_intercept_time,
)
from shieldwall.c2.threat_evaluation import (
    ThreatEvaluator,
    ballistic_impact,
    ellipsoid_height_m,
    evaluate_threats,
    gravity_accel_ecef,
    great_circle_approach,
    p_hit_circle,
    predict_ballistic,
    propagate_ballistic,
)
from shieldwall.c2.types import (
    AssetTable,
    Assignments,
    BallisticTrajectory,
    Candidates,
    Doctrine,
    FireUnitTable,
    ThreatAssessment,
    TrackPicture,
)
from shieldwall.c2.wta import (
    WTASolution,
    brute_force_wta,
    greedy_mmr,
    solve_wta,
    wta_objective,
)

__all__ = [
    "AssetTable",
    "Assignments",
    "BallisticTrajectory",
    "Candidates",
    "Doctrine",
    "EngagementFeasibility",
    "FireUnitTable",
    "GreedyAssigner",
    "TargetMotion",
    "ThreatAssessment",
    "ThreatEvaluator",
    "TrackPicture",
    "WTASolution",
    "ballistic_impact",
    "brute_force_wta",
    "ellipsoid_height_m",
    "evaluate_threats",
    "extended_time_to_distance",
    "feasible_engagements",
    "gravity_accel_ecef",
    "great_circle_approach",
    "greedy_mmr",
    "p_hit_circle",
    "predict_ballistic",
    "propagate_ballistic",
    "solve_intercept_time",
    "solve_wta",
    "wta_objective",
]
