"""Kill resolution: each closest approach is a kill or a miss (the ``Lethality``), rounds that
end are resolved, and kill assessments arrive after their delay -- the state bookkeeping around
``Lethality.resolve``, in one place so a new kill model is a registered component only."""

from __future__ import annotations

from typing import Any

import numpy as np

from shieldwall.core.types import Fate
from shieldwall.core.vocabulary import EventKind
from shieldwall.engine.factory import Pipeline
from shieldwall.engine.state import DONE, KA_PENDING, RunState, set_fate
from shieldwall.engine.world import World
from shieldwall.weapons import assess_kills


def resolve_intercepts(w: World, pipe: Pipeline, st: RunState, res: Any) -> None:
    """Kill or miss of each closest approach (the ``Lethality``), then self-destructs."""
    tab = st.table
    eng = st.engagements
    th = st.threats
    n_hit = res.slot.size
    if n_hit:
        types = tab.type_index[res.slot]
        pk, hit = pipe.lethality.resolve(res.miss_m, types, st.rng_kill)
        order = np.argsort(res.time_s, kind="stable")
        for r in order:
            s = int(res.slot[r])
            eid = int(tab.engagement_id[s])
            tgt = int(res.target_index[r])
            t_ca = float(res.time_s[r])
            kill = bool(hit[r]) and tgt >= 0 and not th.killed[tgt]
            if kill:
                th.killed[tgt] = True
                th.kill_time[tgt] = t_ca
                set_fate(st, tgt, Fate.INTERCEPTED, t_ca)
                eng.n_killed[eid] += 1
            st.events.add(t_ca, EventKind.INTERCEPT_KILL if kill else EventKind.INTERCEPT_MISS,
                          threat_id=tgt, track_id=int(eng.track_id[eid]),
                          battery_id=w.units.unit_id[int(eng.unit[eid])],
                          interceptor_id=int(res.interceptor_id[r]),
                          interceptor_type=w.interceptors[int(eng.itype[eid])].name,
                          pos_ecef=res.pos_ecef[r], value=float(pk[r]),
                          detail={"miss_m": float(res.miss_m[r]), "pk": float(pk[r]),
                                  "engagement_id": eid})
            round_resolved(w, st, eid, t_ca)
    for r in range(res.destroyed_slot.size):
        s = int(res.destroyed_slot[r])
        eid = int(tab.engagement_id[s])
        t_d = float(res.destroyed_time_s[r])
        st.events.add(t_d, EventKind.SELF_DESTRUCT, track_id=int(eng.track_id[eid]),
                      battery_id=w.units.unit_id[int(eng.unit[eid])],
                      interceptor_id=int(res.destroyed_interceptor_id[r]),
                      interceptor_type=w.interceptors[int(eng.itype[eid])].name,
                      pos_ecef=res.destroyed_pos_ecef[r],
                      detail={"reason": int(res.destroyed_reason[r]), "engagement_id": eid})
        round_resolved(w, st, eid, t_d)


def round_resolved(w: World, st: RunState, eid: int, t: float) -> None:
    eng = st.engagements
    eng.resolved[eid] += 1
    eng.last_resolved_s[eid] = max(float(eng.last_resolved_s[eid]), t)
    if eng.resolved[eid] == eng.n_rounds[eid]:
        u = int(eng.unit[eid])
        eng.status[eid] = KA_PENDING
        eng.ka_order[eid] = eng.n_ka
        eng.n_ka += 1
        eng.ka_time_s[eid] = float(eng.last_resolved_s[eid]) + float(w.ka_delay_s[u])
        st.inventory.release_channel(u)


def kill_assessments(w: World, pipe: Pipeline, st: RunState, t: float) -> None:
    """Kill assessments that arrive by t, in the order they became pending."""
    eng = st.engagements
    n = eng.n
    if n == 0:
        return
    due = np.flatnonzero((eng.status[:n] == KA_PENDING) & (eng.ka_time_s[:n] <= t))
    if due.size == 0:
        return
    due = due[np.argsort(eng.ka_order[due], kind="stable")]
    led = st.ledger
    for eid in due.tolist():
        eng.status[eid] = DONE
        u = int(eng.unit[eid])
        truly = int(eng.n_killed[eid]) > 0
        verdict = bool(assess_kills(np.array([truly]), float(w.ka_pcorrect[u]), st.rng_ka)[0])
        tid = int(eng.track_id[eid])
        r = led.rows(np.array([tid]), create=True)
        led.in_flight[r] = np.maximum(0, led.in_flight[r] - 1)
        if verdict:
            led.dead_until_s[r] = t + pipe.params.assessed_dead_hold_s
        st.events.add(t, EventKind.KILL_ASSESSMENT, track_id=tid,
                      battery_id=w.units.unit_id[u],
                      detail={"engagement_id": eid, "assessed_killed": verdict,
                              "truly_killed": truly})
