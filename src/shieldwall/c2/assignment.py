"""Dynamic weapon-target assignment under doctrine: global maximum marginal return.

Each battle-management cycle, over all feasible candidates ``c = (track j, unit u, type k)``::

    s_c    = min(salvo[class_j], rounds available to j at (u, k))
    gain_c = W_j (1 - (1 - p_c) ** s_c) - [cost_aware] cost_k s_c / cost_per_value_usd

where ``W_j`` is the track's remaining value at risk (its assessed value times the survival
probability left by engagements still in flight). The candidate with the largest positive gain
is committed, inventory and channels are debited, ``W_j *= (1 - p_c) ** s_c``, and the search
repeats until no eligible candidate has a positive gain.

Eligibility of a candidate:

* ``p_c >= min_pk``;
* the track is not already engaged in this cycle (one engagement per track per cycle) and has
  had fewer than ``max_engagements_per_threat`` engagements in total;
* shoot-look-shoot: no engagement of the track is in flight (the next one waits for the kill
  assessment); shoot-shoot: the whole salvo is fired at once and the track may be engaged
  again in later cycles without waiting;
* the unit has a free fire channel (one channel per engagement, whatever the salvo size);
* reserve: unless the threat qualifies (estimated class ballistic or aeroballistic, or value at
  risk >= ``reserve_release_value``), only ``rounds - ceil(reserve_fraction[name] x capacity)``
  rounds of a type may be used (``capacity`` = the unit's full load, by default the rounds on
  hand at the start of the cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shieldwall.c2.types import Assignments, Candidates, Doctrine, ThreatAssessment
from shieldwall.core.types import THREAT_CLASSES, FloatArray, IntArray, ThreatClass

_RESERVE_CLASSES = (ThreatClass.BALLISTIC, ThreatClass.AEROBALLISTIC)


@dataclass(frozen=True)
class CycleState:
    """What one battle-management cycle's assignment starts from, under the doctrine (the
    module docstring's eligibility rules), shared by every engine assigner.

    Per unit and type ``(u, k)``: ``rounds_left`` (a copy, debited as engagements are chosen)
    and ``reserve_rounds``; per unit: ``channels`` (a copy); per track ``(m,)``: ``in_flight``,
    ``made``, ``value``, ``remaining`` (value at risk x survival left by engagements in
    flight), ``class_index``, ``salvo_track``, ``qualifies`` (may use the reserve),
    ``state_ok`` (may be engaged this cycle); per candidate: ``pk_ok``; ``names`` of the
    interceptor types; ``exchange`` converts
    cost (USD) into value units (0 unless cost-aware).
    """

    m: int
    n_units: int
    n_types: int
    names: tuple[str, ...]
    rounds_left: IntArray
    channels: IntArray
    in_flight: IntArray
    made: IntArray
    reserve_rounds: IntArray
    value: FloatArray
    remaining: FloatArray
    class_index: IntArray
    salvo_track: IntArray
    qualifies: np.ndarray
    state_ok: np.ndarray
    pk_ok: np.ndarray
    exchange: float


def cycle_state(doc: Doctrine, candidates: Candidates, assessment: ThreatAssessment,
                rounds: IntArray, free_channels: IntArray, engaged: IntArray,
                engagements_made: IntArray | None, capacity: IntArray | None,
                prior_survival: FloatArray | None) -> CycleState:
    """The ``CycleState`` of ``assign``'s arguments (the inputs are not modified)."""
    m = len(assessment)
    rounds_left = np.array(rounds, np.int64, copy=True)
    n_units, n_types = rounds_left.shape
    channels = np.array(free_channels, np.int64, copy=True).reshape(n_units)
    in_flight = np.asarray(engaged, np.int64).reshape(m)
    made = in_flight if engagements_made is None else np.asarray(engagements_made,
                                                                 np.int64).reshape(m)
    cap = rounds_left.copy() if capacity is None else np.asarray(capacity, np.int64)
    names = candidates.interceptor_names or tuple(f"type{k}" for k in range(n_types))
    reserve_rounds = np.ceil(
        cap * np.array([doc.reserve_fraction.get(nm, 0.0) for nm in names])[None, :] - 1e-9
    ).astype(np.int64)
    value = np.asarray(assessment.value, float).reshape(m)
    remaining = value * (
        1.0 if prior_survival is None else np.asarray(prior_survival, float))
    class_index = np.asarray(assessment.class_index, np.int64).reshape(m)
    salvo_by_class = np.array([doc.salvo_for(c) for c in THREAT_CLASSES], np.int64)
    reserve_class = np.array([c in _RESERVE_CLASSES for c in THREAT_CLASSES], bool)
    qualifies = reserve_class[class_index] | (value >= doc.reserve_release_value)
    state_ok = made < doc.max_engagements_per_threat
    if doc.policy == "shoot_look_shoot":
        state_ok &= in_flight == 0
    return CycleState(
        m=m, n_units=n_units, n_types=n_types, names=tuple(names), rounds_left=rounds_left,
        channels=channels, in_flight=in_flight, made=made, reserve_rounds=reserve_rounds,
        value=value, remaining=remaining, class_index=class_index,
        salvo_track=salvo_by_class[class_index],
        qualifies=qualifies, state_ok=state_ok, pk_ok=candidates.pk >= doc.min_pk,
        exchange=1.0 / doc.cost_per_value_usd if doc.cost_aware else 0.0)


@dataclass(frozen=True)
class GreedyAssigner:
    """Global maximum-marginal-return weapon assigner (see the module docstring).

    Attributes
    ----------
    doctrine : Doctrine
    alternatives_in_reason : int
        How many runner-up candidates of the same track each reason string names.
    """

    doctrine: Doctrine = field(default_factory=Doctrine)
    alternatives_in_reason: int = 3

    def assign(self, candidates: Candidates, assessment: ThreatAssessment, rounds: IntArray,
               free_channels: IntArray, engaged: IntArray, time_s: float,
               engagements_made: IntArray | None = None, capacity: IntArray | None = None,
               prior_survival: FloatArray | None = None) -> Assignments:
        """Choose this cycle's engagements.

        Parameters
        ----------
        candidates : Candidates (c rows) from ``feasible_engagements``
        assessment : ThreatAssessment (m tracks)
        rounds : (u, k) int      rounds on hand per unit and interceptor type
        free_channels : (u,) int fire channels free per unit
        engaged : (m,) int       engagements of each track still in flight (not kill-assessed)
        time_s : float           decision time (candidates already launch after it)
        engagements_made : (m,) int, optional
            Engagements of each track so far, in flight or completed (default: ``engaged``).
        capacity : (u, k) int, optional
            Full load per unit and type, the base of the reserve (default: ``rounds``).
        prior_survival : (m,) float, optional
            Survival probability from the engagements in flight (default 1).

        Returns
        -------
        Assignments (the inputs are not modified).
        """
        st = cycle_state(self.doctrine, candidates, assessment, rounds, free_channels, engaged,
                         engagements_made, capacity, prior_survival)
        m, rounds_left, channels, remaining = st.m, st.rounds_left, st.channels, st.remaining
        salvo_track, qualifies, reserve_rounds = st.salvo_track, st.qualifies, st.reserve_rounds
        state_ok, pk_ok, exchange = st.state_ok, st.pk_ok, st.exchange
        class_index, in_flight, made, names = st.class_index, st.in_flight, st.made, st.names

        j, u, k = candidates.track_slot, candidates.unit, candidates.interceptor_type
        p = candidates.pk
        cost = candidates.cost_usd
        by_track = _TrackIndex(j, m)
        # Per candidate, what does not change while the cycle's engagements are chosen.
        static_ok = pk_ok & state_ok[j]
        reserve_c = np.where(qualifies[j], 0, reserve_rounds[u, k])
        salvo_c = salvo_track[j]
        miss_p = 1.0 - p
        cost_exchange = exchange * cost

        assigned = np.zeros(m, bool)
        chosen: list[int] = []
        salvos: list[int] = []
        gains: list[float] = []
        reasons: list[str] = []
        while j.size:
            s = np.minimum(salvo_c, rounds_left[u, k] - reserve_c)
            eligible = static_ok & ~assigned[j] & (channels[u] > 0) & (s >= 1)
            if not eligible.any():
                break
            s_pos = np.maximum(s, 1)
            gain = remaining[j] * (1.0 - miss_p**s_pos) - cost_exchange * s_pos
            gain = np.where(eligible, gain, -np.inf)
            c = int(np.argmax(gain))
            if not gain[c] > 0.0:
                break
            jc, uc, kc, sc = int(j[c]), int(u[c]), int(k[c]), int(s[c])
            reasons.append(self._reason(c, gain, s_pos, candidates, assessment, remaining[jc],
                                        THREAT_CLASSES[int(class_index[jc])], names,
                                        by_track))
            chosen.append(c)
            salvos.append(sc)
            gains.append(float(gain[c]))
            rounds_left[uc, kc] -= sc
            channels[uc] -= 1
            assigned[jc] = True
            remaining[jc] *= (1.0 - p[c]) ** sc

        idx = np.asarray(chosen, np.int64)
        n_rounds = np.asarray(salvos, np.int64)
        pk_c = p[idx]
        un_slot, un_code, un_reason = self._unengaged(
            candidates, assessment, assigned, state_ok, in_flight, made, pk_ok, salvo_track,
            qualifies, reserve_rounds, rounds_left, channels, exchange, names, by_track)
        return Assignments(
            track_slot=j[idx], track_id=np.asarray(assessment.track_id, np.int64)[j[idx]],
            unit=u[idx], interceptor_type=k[idx], n_rounds=n_rounds, pk=pk_c,
            kill_probability=1.0 - (1.0 - pk_c) ** n_rounds,
            expected_gain=np.asarray(gains, float), cost_usd=cost[idx] * n_rounds,
            t_launch_s=candidates.t_launch_s[idx], t_intercept_s=candidates.t_intercept_s[idx],
            pip_ecef=candidates.pip_ecef[idx].reshape(-1, 3), reason=reasons,
            unengaged_slot=un_slot,
            unengaged_track_id=np.asarray(assessment.track_id, np.int64)[un_slot],
            unengaged_code=un_code, unengaged_reason=un_reason, remaining_value=remaining,
            rounds_after=rounds_left, free_channels_after=channels)

    def _reason(self, c: int, gain: FloatArray, salvo: IntArray, cand: Candidates,
                assessment: ThreatAssessment, value: float, threat_class: ThreatClass,
                names: tuple[str, ...], by_track: _TrackIndex) -> str:
        """Readable justification of choosing candidate c for its track."""
        j = int(cand.track_slot[c])
        label = self._label(c, cand, names)
        s = int(salvo[c])
        kill = 1.0 - (1.0 - cand.pk[c]) ** s
        text = (f"track {int(assessment.track_id[j])} ({threat_class.value}, value at risk "
                f"{value:.3g}, impact in {float(assessment.time_to_impact_s[j]):.0f} s): "
                f"{label} x{s}, Pk {cand.pk[c]:.2f} (salvo {kill:.2f}), cost "
                f"${cand.cost_usd[c] * s:,.0f}, net gain {gain[c]:.3g}")
        same = by_track.rows(j)
        same = same[same != c]
        if same.size == 0:
            return text + "; no alternative"
        ranked = same[np.argsort(-np.where(np.isfinite(gain[same]), gain[same], -1e300),
                                 kind="stable")]
        alts = []
        for a in ranked[: self.alternatives_in_reason]:
            g = gain[a]
            alts.append(f"{self._label(a, cand, names)} "
                        + (f"(gain {g:.3g}, Pk {cand.pk[a]:.2f})" if np.isfinite(g)
                           else f"(not eligible, Pk {cand.pk[a]:.2f})"))
        more = "" if same.size <= self.alternatives_in_reason else (
            f" and {same.size - self.alternatives_in_reason} more")
        return text + "; chosen over " + ", ".join(alts) + more

    @staticmethod
    def _label(c: int, cand: Candidates, names: tuple[str, ...]) -> str:
        unit = cand.unit_ids[cand.unit[c]] if cand.unit_ids else f"unit {cand.unit[c]}"
        return f"{names[cand.interceptor_type[c]]} from {unit}"

    def _unengaged(self, cand: Candidates, assessment: ThreatAssessment, assigned: np.ndarray,
                   state_ok: np.ndarray, in_flight: IntArray, made: IntArray,
                   pk_ok: np.ndarray, salvo_track: IntArray, qualifies: np.ndarray,
                   reserve_rounds: IntArray, rounds_left: IntArray, channels: IntArray,
                   exchange: float, names: tuple[str, ...], by_track: _TrackIndex
                   ) -> tuple[IntArray, list[str], list[str]]:
        """Why each track without an engagement this cycle got none (first reason that applies:
        no threat, waiting for kill assessment, engagement limit, no feasible weapon, Pk below
        min_pk, reserve, no rounds or channels, gain not positive)."""
        doc = self.doctrine
        m = assigned.shape[0]
        value = np.asarray(assessment.value, float)
        j, u, k = cand.track_slot, cand.unit, cand.interceptor_type
        # Per-candidate tests, then per-track "any candidate passes" (the first reason that
        # applies only needs these).
        ok = pk_ok & (channels[u] > 0)
        raw = rounds_left[u, k] >= 1
        usable = rounds_left[u, k] - np.where(qualifies[j], 0, reserve_rounds[u, k])
        sel_all = ok & (usable >= 1)

        def per_track(mask: np.ndarray) -> list[bool]:
            return (np.bincount(j[mask], minlength=m) > 0).tolist()

        has_cand = per_track(np.ones(j.size, bool))
        has_pk = per_track(pk_ok)
        has_raw = per_track(ok & raw)
        has_sel = per_track(sel_all)
        value_l = value.tolist()
        state_l = state_ok.tolist()
        made_l = np.asarray(made).tolist()
        flight_l = np.asarray(in_flight).tolist()
        track_id = np.asarray(assessment.track_id).tolist()
        slots, codes, texts = [], [], []
        g_all: FloatArray = np.zeros(0)
        best_row: IntArray | None = None
        for t in np.flatnonzero(~assigned).tolist():
            tid = int(track_id[t])
            if value_l[t] <= 0.0:
                code, why = "no_threat", "no defended asset threatened"
            elif not state_l[t] and made_l[t] >= doc.max_engagements_per_threat:
                code, why = "max_engagements", (
                    f"already engaged {int(made_l[t])} times (limit "
                    f"{doc.max_engagements_per_threat})")
            elif not state_l[t]:
                code, why = "awaiting_kill_assessment", (
                    f"shoot-look-shoot: {int(flight_l[t])} engagement(s) in flight")
            elif not has_cand[t]:
                code, why = "no_feasible_weapon", "no interceptor can reach it in time"
            elif not has_pk[t]:
                code, why = "below_min_pk", (
                    f"best Pk {cand.pk[by_track.rows(t)].max():.2f} < min_pk {doc.min_pk:.2f}")
            elif not has_raw[t]:
                code, why = "no_rounds_or_channels", (
                    "every feasible unit is out of rounds or fire channels")
            elif not has_sel[t]:
                code, why = "reserve", "remaining rounds held in reserve for ballistic threats"
            else:
                if best_row is None:
                    g_all, best_row = self._best_net_gain(cand, value, salvo_track, usable,
                                                          sel_all, exchange, m)
                c = int(best_row[t])
                label = self._label(c, cand, names)
                code, why = "not_worth_cost", (
                    f"not worth the cost: best {label} has net gain {g_all[c]:.3g} "
                    f"(value at risk {value[t]:.3g})")
            slots.append(int(t))
            codes.append(code)
            texts.append(f"track {tid}: {why}")
        return np.asarray(slots, np.int64), codes, texts


    @staticmethod
    def _best_net_gain(cand: Candidates, value: FloatArray, salvo_track: IntArray,
                       usable: IntArray, sel: np.ndarray, exchange: float, m: int
                       ) -> tuple[FloatArray, IntArray]:
        """Net gain of every candidate with the rounds left, and per track the first candidate
        of largest gain among ``sel`` (-1 for a track without one)."""
        j = cand.track_slot
        s = np.maximum(np.minimum(salvo_track[j], usable), 1)
        gain = value[j] * (1.0 - (1.0 - cand.pk) ** s) - exchange * cand.cost_usd * s
        key = np.where(sel, gain, -np.inf)
        order = np.lexsort((np.arange(j.size), -key, j))   # track, gain down, row up
        ordered = j[order]
        first = np.ones(order.size, bool)
        first[1:] = ordered[1:] != ordered[:-1]
        best = np.full(m, -1, np.int64)
        best[ordered[first]] = order[first]
        return gain, best


class _TrackIndex:
    """Candidate rows grouped by track slot (each group in candidate order)."""

    def __init__(self, track_slot: IntArray, m: int) -> None:
        slot = np.asarray(track_slot, np.int64)
        self._order = np.argsort(slot, kind="stable")
        bounds = np.searchsorted(slot[self._order], np.arange(m + 1))
        self._start = bounds[:-1].tolist()
        self._stop = bounds[1:].tolist()

    def rows(self, t: int) -> IntArray:
        """Candidate rows of track t, ascending."""
        return self._order[self._start[t]:self._stop[t]]
