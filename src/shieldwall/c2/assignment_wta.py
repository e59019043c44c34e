"""The static WTA solvers of ``c2.wta`` as an engine assigner (one adapter).

Each battle-management cycle becomes a static instance of the WTA problem of
``docs/formats.md`` section 8:

* weapon types ``i`` are the (fire unit, interceptor type) pairs of the cycle's candidates, with
  ``n_i`` = the rounds on hand less the doctrine's reserve;
* targets ``j`` are the tracks the doctrine lets be engaged now (engagement limit,
  shoot-look-shoot), of value ``V_j`` = value at risk x survival left by engagements in flight;
* ``p_ij`` = the candidate's single-shot Pk where it is feasible and at least ``min_pk``, else 0.

The solver's ``x`` is turned back into doctrine-legal engagements: per track the pair that
contributes most (``-x_ij log(1 - p_ij)``) with ``min(x_ij, salvo)`` rounds, in order of net
gain, while the unit has a fire channel and rounds, and the net gain (cost-aware) is positive.
Because that repair can lose value, the greedy assignment of the same cycle is computed too and
kept when its total net gain is larger: the adapter is never worse than ``GreedyAssigner`` on
the cycle's objective (expected value saved net of cost).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shieldwall.c2.assignment import GreedyAssigner, _TrackIndex, cycle_state
from shieldwall.c2.types import Assignments, Candidates, Doctrine, ThreatAssessment
from shieldwall.c2.wta import solve_wta
from shieldwall.core.types import FloatArray, IntArray


def total_net_gain(a: Assignments) -> float:
    """The cycle's objective: expected value saved net of cost (sum of ``expected_gain``)."""
    return float(np.sum(a.expected_gain))


@dataclass(frozen=True)
class WTAAssigner:
    """Engine assigner solving each cycle's static WTA with ``c2.wta.solve_wta``.

    Attributes
    ----------
    doctrine : Doctrine
    solver : ``"heuristic"`` (local search, ms) or ``"exact"`` (MILP on HiGHS)
    time_limit_s : wall budget of one ``exact`` solve per cycle, s (None: until proven)
    """

    doctrine: Doctrine = field(default_factory=Doctrine)
    solver: str = "exact"
    time_limit_s: float | None = 2.0

    def assign(self, candidates: Candidates, assessment: ThreatAssessment, rounds: IntArray,
               free_channels: IntArray, engaged: IntArray, time_s: float,
               engagements_made: IntArray | None = None, capacity: IntArray | None = None,
               prior_survival: FloatArray | None = None) -> Assignments:
        """Same contract as ``GreedyAssigner.assign`` (inputs are not modified)."""
        greedy = GreedyAssigner(self.doctrine)
        base = greedy.assign(candidates, assessment, rounds, free_channels, engaged, time_s,
                             engagements_made=engagements_made, capacity=capacity,
                             prior_survival=prior_survival)
        doc = self.doctrine
        st = cycle_state(doc, candidates, assessment, rounds, free_channels, engaged,
                         engagements_made, capacity, prior_survival)
        m, n_types, rounds_left, channels = st.m, st.n_types, st.rounds_left, st.channels
        remaining, salvo_track, qualifies = st.remaining, st.salvo_track, st.qualifies
        reserve_rounds, state_ok = st.reserve_rounds, st.state_ok
        in_flight, made, names = st.in_flight, st.made, st.names
        j, u, k, p = (candidates.track_slot, candidates.unit, candidates.interceptor_type,
                      candidates.pk)
        pk_ok, exchange = st.pk_ok, st.exchange
        usable_c = rounds_left[u, k] - np.where(qualifies[j], 0, reserve_rounds[u, k])
        ok = pk_ok & state_ok[j] & (channels[u] > 0) & (usable_c >= 1) & (remaining[j] > 0)
        if not ok.any():
            return base
        rows = np.flatnonzero(ok)
        pairs, pair_of = np.unique(u[rows] * n_types + k[rows], return_inverse=True)
        tracks, track_of = np.unique(j[rows], return_inverse=True)
        pk_mat = np.zeros((pairs.size, tracks.size))
        best_row = np.full((pairs.size, tracks.size), -1, np.int64)
        for r, pi, ti in zip(rows.tolist(), pair_of.tolist(), track_of.tolist(), strict=True):
            if p[r] > pk_mat[pi, ti]:
                pk_mat[pi, ti] = p[r]
                best_row[pi, ti] = r
        counts = np.array([int(usable_c[rows][pair_of == i].max()) for i in range(pairs.size)],
                          np.int64)
        solution = solve_wta(remaining[tracks], counts, pk_mat, solver=self.solver,
                             time_limit_s=self.time_limit_s)
        x = solution.assignment
        # Back to engagements: per track its strongest pair, capped by the salvo.
        with np.errstate(divide="ignore"):
            contrib = -x * np.log1p(-np.clip(pk_mat, 0.0, 1.0 - 1e-12))
        picks = []
        for ti in range(tracks.size):
            if not (x[:, ti] > 0).any():
                continue
            pi = int(np.argmax(contrib[:, ti]))
            c = int(best_row[pi, ti])
            s = int(min(x[pi, ti], salvo_track[j[c]]))
            gain = (remaining[j[c]] * (1.0 - (1.0 - p[c]) ** s)
                    - exchange * candidates.cost_usd[c] * s)
            picks.append((gain, c, s))
        picks.sort(key=lambda g: -g[0])
        chosen, salvos, gains = [], [], []
        assigned = np.zeros(m, bool)
        for _g, c, s_want in picks:
            uc, kc, jc = int(u[c]), int(k[c]), int(j[c])
            usable = rounds_left[uc, kc] - (0 if qualifies[jc] else reserve_rounds[uc, kc])
            s = int(min(s_want, usable))
            if channels[uc] <= 0 or s < 1 or assigned[jc]:
                continue
            gain = (remaining[jc] * (1.0 - (1.0 - p[c]) ** s)
                    - exchange * candidates.cost_usd[c] * s)
            if not gain > 0.0:
                continue
            chosen.append(c)
            salvos.append(s)
            gains.append(float(gain))
            rounds_left[uc, kc] -= s
            channels[uc] -= 1
            assigned[jc] = True
            remaining[jc] *= (1.0 - p[c]) ** s
        if sum(gains) <= total_net_gain(base):
            return base
        idx = np.asarray(chosen, np.int64)
        n_rounds = np.asarray(salvos, np.int64)
        pk_c = p[idx]
        by_track = _TrackIndex(j, m)
        label = f"{self.solver} WTA"
        reasons = [f"track {int(assessment.track_id[j[c]])}: {greedy._label(c, candidates, names)}"
                   f" x{s}, Pk {p[c]:.2f}, net gain {g:.3g} ({label}: objective "
                   f"{solution.objective:.4g}, greedy net gain {total_net_gain(base):.3g})"
                   for c, s, g in zip(chosen, salvos, gains, strict=True)]
        un_slot, un_code, un_reason = greedy._unengaged(
            candidates, assessment, assigned, state_ok, in_flight, made, pk_ok, salvo_track,
            qualifies, reserve_rounds, rounds_left, channels, exchange, names, by_track)
        track_id = np.asarray(assessment.track_id, np.int64)
        return Assignments(
            track_slot=j[idx], track_id=track_id[j[idx]], unit=u[idx], interceptor_type=k[idx],
            n_rounds=n_rounds, pk=pk_c, kill_probability=1.0 - (1.0 - pk_c) ** n_rounds,
            expected_gain=np.asarray(gains, float), cost_usd=candidates.cost_usd[idx] * n_rounds,
            t_launch_s=candidates.t_launch_s[idx], t_intercept_s=candidates.t_intercept_s[idx],
            pip_ecef=candidates.pip_ecef[idx].reshape(-1, 3), reason=reasons,
            unengaged_slot=un_slot, unengaged_track_id=track_id[un_slot],
            unengaged_code=un_code, unengaged_reason=un_reason, remaining_value=remaining,
            rounds_after=rounds_left, free_channels_after=channels)
