"""Names every layer shares, defined once: event kinds, hold codes, registry names.

Each is a ``StrEnum`` (a member compares equal to its text, so results files keep the bare
strings) plus a tuple of its members in declaration order. The registry names are what a
scenario writes (``tracker: {kind: imm}``, ``doctrine: {assigner: exact}``); the engine's
factory (``engine.factory``) maps each to one component and a contract test checks that the
two agree.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """Kinds of rows of the event log (docs/internals.md)."""

    THREAT_LAUNCH = "threat_launch"
    TRACK_CONFIRMED = "track_confirmed"
    TRACK_DELETED = "track_deleted"
    ENGAGE = "engage"
    HOLD = "hold"
    LAUNCH = "launch"
    INTERCEPT_KILL = "intercept_kill"
    INTERCEPT_MISS = "intercept_miss"
    SELF_DESTRUCT = "self_destruct"
    KILL_ASSESSMENT = "kill_assessment"
    LEAK = "leak"
    CRASH = "crash"
    EXPIRE = "expire"
    ASSET_DAMAGE = "asset_damage"
    COMPONENT_DESTROYED = "component_destroyed"
    COMPONENT_DAMAGED = "component_damaged"


EVENT_KINDS: tuple[str, ...] = tuple(k.value for k in EventKind)


class HoldCode(StrEnum):
    """Why the battle manager did not engage a track this cycle (``Assignments``)."""

    NO_THREAT = "no_threat"
    AWAITING_KILL_ASSESSMENT = "awaiting_kill_assessment"
    MAX_ENGAGEMENTS = "max_engagements"
    NO_FEASIBLE_WEAPON = "no_feasible_weapon"
    BELOW_MIN_PK = "below_min_pk"
    RESERVE = "reserve"
    NO_ROUNDS_OR_CHANNELS = "no_rounds_or_channels"
    NOT_WORTH_COST = "not_worth_cost"


HOLD_CODES: tuple[str, ...] = tuple(c.value for c in HoldCode)


class FirePolicy(StrEnum):
    """Shoot-look-shoot waits for the kill assessment; shoot-shoot does not."""

    SHOOT_LOOK_SHOOT = "shoot_look_shoot"
    SHOOT_SHOOT = "shoot_shoot"


FIRE_POLICIES: tuple[str, ...] = tuple(p.value for p in FirePolicy)


class WTASolver(StrEnum):
    """Solvers of the static weapon-target assignment (``c2.wta.solve_wta``)."""

    AUTO = "auto"
    GREEDY = "greedy"
    HEURISTIC = "heuristic"
    EXACT = "exact"


WTA_SOLVERS: tuple[str, ...] = tuple(s.value for s in WTASolver)

# --------------------------------------------------------------------- engine registry names
# The names a scenario may write for each role. These tuples *are* the keys of the engine's
# registries (``engine.factory.REGISTRY``): the factory refuses to import when a registered
# component's name is missing here (or a name here has no component), so the scenario layer --
# which may not import the engine -- validates and documents exactly the registered names.
# The first name of each tuple is the scenario's default.

#: ``tracker.kind``: the IMM tracker or the single-model EKF tracker.
TRACKERS: tuple[str, ...] = ("imm", "ekf")
#: ``doctrine.assigner``: the engine's weapon assigner. ``greedy``: global maximum marginal
#: return under doctrine; ``heuristic`` / ``exact``: the static WTA solvers of ``c2.wta`` on the
#: cycle's candidates (``c2.assignment_wta``).
ASSIGNERS: tuple[str, ...] = ("greedy", "heuristic", "exact")
#: ``sensors[].kind``: ``radar`` (``sensors.radar``, a ``radars`` catalog record) or ``irst``,
#: a passive angle-only infrared search and track sensor (``sensors.passive``, a
#: ``passive_sensors`` catalog record).
SENSORS: tuple[str, ...] = ("radar", "irst")
#: The catalog section holding the records of each sensor kind (``sensors[].radar`` names one).
SENSOR_CATALOG_SECTIONS: dict[str, str] = {"radar": "radars", "irst": "passive_sensors"}
#: ``components.fire_control``: command guidance of guided interceptors (uplink the engaged
#: track, hand over on loss).
FIRE_CONTROLS: tuple[str, ...] = ("track_uplink",)
#: ``components.gun``: how an unguided gun burst takes its target (proximity cone about its aim
#: point).
GUN_ACQUISITIONS: tuple[str, ...] = ("proximity_cone",)
#: ``components.damage``: damage to the assets' critical components from warheads that reach
#: the ground (``engine.damage``): the Carleton damage function (default) or the cookie cutter.
DAMAGE_MODELS: tuple[str, ...] = ("carleton", "cookie_cutter")
#: ``components.threat_evaluator``: threat evaluators of the battle manager.
THREAT_EVALUATORS: tuple[str, ...] = ("impact_prediction",)
#: ``components.flyout``: interceptor flyout models.
FLYOUTS: tuple[str, ...] = ("pronav",)
#: ``components.lethality``: lethality (miss distance -> kill) models.
LETHALITIES: tuple[str, ...] = ("pk_curve",)

#: Every role's registered names (the roles of ``core.roles.ROLES``).
REGISTRY_NAMES: dict[str, tuple[str, ...]] = {
    "sensor": SENSORS, "tracker": TRACKERS, "threat_evaluator": THREAT_EVALUATORS,
    "assigner": ASSIGNERS, "fire_control": FIRE_CONTROLS, "gun": GUN_ACQUISITIONS,
    "flyout": FLYOUTS, "lethality": LETHALITIES, "damage": DAMAGE_MODELS,
}
