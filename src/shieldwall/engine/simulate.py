"""The step loop of one raid.

Each step of length ``dt``: threats move (precomputed truth); radars that are due scan; the
tracker updates tracks from their detections; every battle-management cycle the battle manager
evaluates threats *from the tracks* (never truth, unless the labelled perfect-information study
switch is on), finds feasible engagements and assigns weapons under the doctrine; interceptors
launch, fly out under proportional navigation and are resolved at their closest approach inside
the step; kill assessments arrive after their delay and survivors re-enter the problem. Every
threat ends in exactly one fate. Randomness: one stream per component from the replication's
``SeedSequence`` (docs/formats.md §3).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from dataclasses import replace as dataclass_replace
from typing import Any

import numpy as np

from shieldwall.c2 import TrackPicture, feasible_engagements
from shieldwall.c2.types import Candidates
from shieldwall.catalog.types import Catalog
from shieldwall.core.random import component_rng, replication_seed_sequence
from shieldwall.core.types import Fate, FloatArray, ThreatClass
from shieldwall.core.vocabulary import HOLD_CODES, EventKind, HoldCode
from shieldwall.engine.damage import asset_function, component_distances
from shieldwall.engine.events import EventLog
from shieldwall.engine.factory import (
    BALLISTIC_PROCESS_NOISE_M2_S3,
    EngineParams,
    Pipeline,
    build_pipeline,
    make_tracker,
)
from shieldwall.engine.kills import kill_assessments, resolve_intercepts
from shieldwall.engine.state import (
    EngagementTable,
    NodeState,
    PendingLaunches,
    RunState,
    ThreatState,
    TrackLedger,
    set_fate,
)
from shieldwall.engine.tables import build_tables, scenario_doc, summarize
from shieldwall.engine.world import World, build_world
from shieldwall.scenario import Scenario
from shieldwall.sensors import Detections
from shieldwall.threats import fly, generate_raid
from shieldwall.weapons import FireUnitInventory, InterceptorTable

__all__ = ["BALLISTIC_PROCESS_NOISE_M2_S3", "RunResult", "RunState", "Simulation",
           "make_tracker", "simulate"]

_P = EngineParams()
#: Battle-management cycle (s) (``EngineParams.bm_period_s``).
BM_PERIOD_S = _P.bm_period_s
#: ``simulate(progress=...)`` is called every this many steps.
PROGRESS_EVERY_STEPS = 20
#: Autonomous mode: battery u's track ids start at (u + 1) x this, so ids stay unique.
TRACK_ID_BLOCK = _P.track_id_block


@dataclass
class RunResult:
    """Everything one run produced: the summary, the tables for the results directory, events."""

    summary: dict[str, Any]
    scenario_doc: dict[str, Any]
    tables: dict[str, dict[str, Any]]
    events: EventLog
    fates: list[str]
    wall_time_s: float


def simulate(scenario: Scenario, seed: int | None = None, replication: int = 0,
             catalog: Catalog | None = None, perfect_information: bool | None = None,
             record: bool = True,
             progress: Callable[[float, float], None] | None = None) -> RunResult:
    """Run one raid and return its results.

    Parameters
    ----------
    scenario : a validated scenario
    seed : study seed (default: the scenario's)
    replication : replication index *i*; the run depends only on (scenario, seed, i)
    catalog : the notional catalog (default: the packaged one)
    perfect_information : override the scenario's study switch (battle manager on truth)
    record : keep the per-step tables (truth, tracks, detections, interceptors); False for
        Monte Carlo replications that need only the summary
    progress : optional ``progress(t_s, duration_s)``, called from the step loop every
        ``PROGRESS_EVERY_STEPS`` steps and once at the end (display only; no cost when None)
    """
    wall0 = _time.perf_counter()
    sim = Simulation.start(scenario, seed, replication, catalog, perfect_information, record)
    sim.run(progress)
    return sim.result(_time.perf_counter() - wall0)


def initial_state(world: World, pipe: Pipeline, seed: int, replication: int, perfect: bool,
                  record: bool) -> RunState:
    """Draw the raid and set every table to its start of run."""
    ss = replication_seed_sequence(seed, replication)
    rng_threats = component_rng(ss, "threats")
    # One stream per sensor, named by its kind ("radar:<label>:<name>" for radars).
    rng_sites = [component_rng(ss, f"{kind}:{lbl}:{s.name}")
                 for kind, lbl, s in zip(world.sensor_kind, world.site_label, world.sites,
                                         strict=True)]
    rng_kill = component_rng(ss, "weapons:kill")
    rng_ka = component_rng(ss, "weapons:kill_assessment")
    rng_damage = component_rng(ss, "damage")
    plan = generate_raid(world.waves, world.threat_types, world.assets.pos_ecef, rng_threats)
    truth = fly(plan, world.threat_types, world.time_s)
    n = len(plan.threat_id)
    type_names = list(plan.type_name)
    types = world.threat_types
    periods = np.array([d.scan_period_s for d in pipe.sensors], float)
    phase_rng = component_rng(ss, "radar:phases")
    next_scan = phase_rng.uniform(0.0, 1.0, len(periods)) * periods
    nodes = make_nodes(world, pipe, world.scenario.doctrine.command_mode)
    n_units = len(world.units.unit_id)
    unit_node = np.zeros(n_units, np.int64)
    for i, node in enumerate(nodes):
        unit_node[node.units] = i
    return RunState(
        seed=seed, replication=replication, perfect=perfect, record=record,
        rng_sites=rng_sites, rng_kill=rng_kill, rng_ka=rng_ka, plan=plan, truth=truth,
        type_names=type_names, classes=[ThreatClass(c) for c in plan.threat_class],
        lethal_radius=np.array([types[t].lethal_radius_m for t in type_names]),
        threat_cost=np.array([types[t].unit_cost_usd for t in type_names]),
        threats=ThreatState.new(n), scan_period=periods, next_scan=next_scan, nodes=nodes,
        unit_node=unit_node,
        inventory=FireUnitInventory(rounds=world.rounds0.copy(),
                                    fire_channels=world.fire_channels,
                                    launch_interval_s=world.launch_interval_s),
        table=InterceptorTable(),
        gun_types=np.array([rec.max_accel_g == 0 or rec.seeker_range_m == 0
                            for rec in world.interceptors], bool),
        ledger=TrackLedger(), engagements=EngagementTable(), pending=PendingLaunches(),
        fired=np.zeros(len(world.interceptors), np.int64),
        asset_remaining=world.assets.value.astype(float).copy(),
        asset_hits=np.zeros(len(world.assets), np.int64), events=EventLog(),
        rec_tracks=[], rec_dets=[], rec_int=[], rng_damage=rng_damage,
        component_state=np.ones(len(world.components)),
        asset_impacts=np.zeros(len(world.assets), np.int64))


def make_nodes(world: World, pipe: Pipeline, mode: str) -> list[NodeState]:
    """``integrated``: one node fusing every sensor and commanding every fire unit (IBCS-like
    network). ``autonomous``: one node per battery that hears only its own radar and decides
    alone (no early-warning cueing, no knowledge of the other batteries' engagements)."""
    tracker = pipe.tracker
    n_units = len(world.units.unit_id)
    if mode == "integrated":
        return [NodeState(tracker.new_table(),
                          np.array(sorted(s.sensor_id for s in world.sites), np.int64),
                          np.arange(n_units))]
    nodes = []
    for u in range(n_units):
        table = tracker.new_table()
        table.next_id = (u + 1) * pipe.params.track_id_block
        nodes.append(NodeState(table, np.array([int(world.battery_site[u])], np.int64),
                               np.array([u], np.int64)))
    return nodes


class Simulation:
    """The step loop over injected components: ``world`` (static), ``pipe`` (components),
    ``state`` (everything that changes). ``step()`` advances one step, so runs can be
    interleaved or checkpointed (``pickle`` the ``state``)."""

    def __init__(self, world: World, pipe: Pipeline, state: RunState) -> None:
        self.world = world
        self.pipe = pipe
        self.state = state
        self.site_map = {s.sensor_id: s for s in world.sites}
        #: Sensor ids whose plots the trackers fuse (3-D plots; angle-only ones are recorded).
        self.fused = frozenset(int(world.sites[i].sensor_id)
                               for i, d in enumerate(pipe.sensors) if d.measures_range)

    @classmethod
    def start(cls, scenario: Scenario, seed: int | None = None, replication: int = 0,
              catalog: Catalog | None = None, perfect_information: bool | None = None,
              record: bool = True) -> Simulation:
        world = build_world(scenario, catalog)
        seed = int(scenario.seed if seed is None else seed)
        perfect = bool(scenario.perfect_information if perfect_information is None
                       else perfect_information)
        pipe = build_pipeline(world)
        return cls(world, pipe, initial_state(world, pipe, seed, replication, perfect, record))

    @property
    def n_steps(self) -> int:
        return len(self.world.time_s)

    def run(self, progress: Callable[[float, float], None] | None = None) -> None:
        w = self.world
        while self.state.step_index < self.n_steps:
            k = self.state.step_index
            if progress is not None and k % PROGRESS_EVERY_STEPS == 0:
                progress(float(w.time_s[k]), float(w.time_s[-1]))
            self.step()
        if progress is not None:
            progress(float(w.time_s[-1]), float(w.time_s[-1]))
        self.finish()

    def step(self) -> None:
        """One step: milestones, sense, track, battle management, launch, fly, assess."""
        st, w = self.state, self.world
        k = st.step_index
        t = float(w.time_s[k])
        dt = w.dt_s
        pos = st.truth.pos_ecef[k]
        vel = st.truth.vel_ecef[k]
        alive = st.truth.in_flight[k] & ~st.threats.killed
        threat_milestones(w, self.pipe, st, t)
        dets, scanned = self._sense(t, pos, vel, alive)
        self._track(t, dets, scanned)
        if t + 1e-9 >= st.next_bm:
            for node in st.nodes:
                battle_manage_node(w, self.pipe, st, node, t, pos, vel, alive)
            st.next_bm += self.pipe.params.bm_period_s
        launch_due(w, st, t, dt)
        fly_interceptors(w, self.pipe, st, t, dt, k, pos, vel)
        kill_assessments(w, self.pipe, st, t)
        st.step_index = k + 1

    def finish(self) -> None:
        if not self.state.finished:
            finish(self.world, self.state)
            self.state.finished = True

    def result(self, wall_time_s: float) -> RunResult:
        st = self.state
        summary = summarize(self.world, st)
        tables = build_tables(self.world, st) if st.record else {}
        return RunResult(summary=summary, scenario_doc=scenario_doc(self.world), tables=tables,
                         events=st.events, fates=list(st.threats.fate), wall_time_s=wall_time_s)

    # ------------------------------------------------------------------ sensing and tracking
    def _sense(self, t: float, pos: FloatArray, vel: FloatArray,
               alive: np.ndarray) -> tuple[Detections, list[int]]:
        st = self.state
        due = np.flatnonzero(st.next_scan <= t + 1e-9)
        batches = []
        tr = st.truth
        for s in due:
            batches.append(self.pipe.sensors[s].detect(pos, vel, tr.rcs_m2, tr.swerling, alive,
                                                       t, st.rng_sites[s]))
            st.next_scan[s] += st.scan_period[s]
        dets = Detections.concat(batches)
        st.n_detections += len(dets)
        if st.record and len(dets):
            st.rec_dets.append(dets)
        scanned = [int(self.world.sites[s].sensor_id) for s in due]
        if len(self.fused) < len(self.pipe.sensors):
            # Angle-only plots are not fused (docs/architecture.md): the trackers see neither
            # them nor their scans.
            dets = dets.select(np.isin(dets.sensor_id, sorted(self.fused)))
            scanned = [s for s in scanned if s in self.fused]
        return dets, scanned

    def _coverage(self, sensor_id: int, pos_ecef: FloatArray) -> np.ndarray:
        # A track misses a scan only where the radar could have seen it (incl. the horizon).
        return self.pipe.sensors[sensor_id].visible(pos_ecef)

    def _track(self, t: float, dets: Detections, scanned: list[int]) -> None:
        st = self.state
        if st.perfect or not scanned:
            return
        for node in st.nodes:
            if len(st.nodes) == 1:
                d, sc = dets, scanned
            else:
                sc = [s for s in scanned if s in set(node.sensors.tolist())]
                if not sc:
                    continue
                d = dets.select(np.isin(dets.sensor_id, node.sensors))
            out = self.pipe.tracker.update(node.tracks, d, self.site_map, t,
                                           scanned_sensor_ids=sc, coverage=self._coverage,
                                           inplace=True)
            node.tracks = out.tracks
            log_tracking(st, t, d, out.log, node.tracks)


def log_tracking(st: RunState, t: float, dets: Detections, log: Any, tracks: Any) -> None:
    """Evaluation only: which truth object fed each track (never read by the battle manager),
    track confirmed/deleted events and the recorded track table."""
    led = st.ledger
    if log.track_id.size:
        # A track fed twice in one update keeps its last detection's truth.
        ids = np.asarray(log.track_id, np.int64)
        truth = np.asarray(dets.truth_index, np.int64)[np.asarray(log.detection_index)]
        _, last = np.unique(ids[::-1], return_index=True)
        last = ids.size - 1 - last
        led.set("truth", ids[last], truth[last])
    for tid in log.confirmed_track_id.tolist():
        st.n_confirmed += 1
        st.events.add(t, EventKind.TRACK_CONFIRMED, track_id=tid,
                      threat_id=led.get1("truth", tid))
    for tid, was in zip(log.deleted_track_id.tolist(), log.deleted_was_confirmed.tolist(),
                        strict=True):
        if was:
            st.events.add(t, EventKind.TRACK_DELETED, track_id=tid,
                          threat_id=led.get1("truth", tid))
    if st.record:
        slots = tracks.confirmed()
        slots = slots[np.isclose(tracks.last_update_s[slots], t)]
        if slots.size:
            x = tracks.x[slots, :6]
            ids = tracks.track_id[slots]
            st.rec_tracks.append({
                "time_s": np.full(slots.size, t), "track_id": ids.copy(),
                "x": x.copy(), "ballistic": tracks.class_ballistic_score[slots] > 0,
                "truth_id": led.get("truth", ids)})


# ---------------------------------------------------------------------- threat milestones
def threat_milestones(w: World, pipe: Pipeline, st: RunState, t: float) -> None:
    """Launch events and the end of flights (leak / crash) up to t."""
    tr = st.truth
    th = st.threats
    launched = (~th.launch_logged) & (st.plan.launch_time_s <= t)
    for i in np.flatnonzero(launched):
        th.launch_logged[i] = True
        st.events.add(float(st.plan.launch_time_s[i]), EventKind.THREAT_LAUNCH,
                      threat_id=int(i), detail={"type": st.type_names[i],
                                                "launch_time_s": st.plan.launch_time_s[i]})
    ended = (tr.end_time_s <= t) & ~th.done
    for i in np.flatnonzero(ended):
        end_flight(w, pipe, st, int(i))


def end_flight(w: World, pipe: Pipeline, st: RunState, i: int) -> None:
    """A flight ends: crash, or leak and damage to the assets (the ``DamageModel``)."""
    tr = st.truth
    t_end = float(tr.end_time_s[i])
    p = tr.end_ecef[i]
    if not tr.reaches_aim[i]:
        set_fate(st, i, Fate.CRASHED, t_end)
        st.events.add(t_end, EventKind.CRASH, threat_id=i, pos_ecef=p,
                      detail={"type": st.type_names[i]})
        return
    set_fate(st, i, Fate.LEAKED, t_end)
    st.events.add(t_end, EventKind.LEAK, threat_id=i, pos_ecef=p,
                  detail={"type": st.type_names[i], "aim_asset": int(st.plan.aim_asset[i])})
    r = float(st.lethal_radius[i])
    if r <= 0:
        return
    assess_damage(w, pipe, st, i, t_end, p, r)


def assess_damage(w: World, pipe: Pipeline, st: RunState, i: int, t: float, p: FloatArray,
                  lethal_radius_m: float) -> None:
    """Threat ``i``'s warhead bursts at ``p``: the ``DamageModel`` updates the component
    states; destroyed / damaged components and each asset whose function drops are logged, and
    the asset's remaining value is ``function x value`` (engine.damage)."""
    a = w.assets
    comp = w.components
    st.asset_impacts[np.linalg.norm(a.pos_ecef - p, axis=1) <= a.radius_m] += 1
    before = st.component_state
    after = np.minimum(pipe.damage.assess(p, lethal_radius_m, comp, before, st.rng_damage),
                       before)
    changed = np.flatnonzero(after < before)
    if changed.size == 0:
        return
    f_before = asset_function(comp, before)
    f_after = asset_function(comp, after)
    st.component_state = after
    d = component_distances(comp, p)
    for c in changed:
        j = int(comp.asset[c])
        detail = {"asset": a.asset_id[j], "component": comp.name[c], "role": comp.role[c],
                  "miss_m": float(d[c]), "state": float(after[c])}
        if comp.point[c] or after[c] == 0.0:
            st.events.add(t, EventKind.COMPONENT_DESTROYED, threat_id=i,
                          pos_ecef=comp.pos_ecef[c], detail=detail)
        else:
            detail["fraction"] = float(1.0 - after[c] / before[c])
            st.events.add(t, EventKind.COMPONENT_DAMAGED, threat_id=i,
                          pos_ecef=comp.pos_ecef[c], value=float(before[c] - after[c]),
                          detail=detail)
    dist = np.linalg.norm(a.pos_ecef - p, axis=1)
    for j in np.unique(comp.asset[changed]):
        lost = float(a.value[j] * (f_before[j] - f_after[j]))
        st.asset_remaining[j] = float(a.value[j] * f_after[j])
        st.asset_hits[j] += 1
        names = [comp.name[c] for c in changed if comp.asset[c] == j]
        st.events.add(t, EventKind.ASSET_DAMAGE, threat_id=i, pos_ecef=p, value=lost,
                      detail={"asset": a.asset_id[j], "miss_m": float(dist[j]),
                              "fraction": float(1.0 - f_after[j] / f_before[j])
                              if f_before[j] > 0 else 0.0,
                              "function_lost": float(1.0 - f_after[j]),
                              "components": names})


# ---------------------------------------------------------------------- battle management
def picture_of(st: RunState, node: NodeState, t: float, pos: FloatArray, vel: FloatArray,
               alive: np.ndarray) -> TrackPicture:
    """The node's track picture (truth only in the labelled perfect-information study)."""
    if st.perfect:
        idx = np.flatnonzero(alive)
        ballistic = np.array([st.classes[i] in (ThreatClass.BALLISTIC,
                                                ThreatClass.AEROBALLISTIC) for i in idx], bool)
        return TrackPicture(track_id=idx.astype(np.int64), pos_ecef=pos[idx],
                            vel_ecef=vel[idx], pos_sigma_m=np.zeros(idx.size),
                            ballistic=ballistic, time_s=t)
    tracks = node.tracks
    slots = tracks.confirmed()
    if slots.size:
        x, P = tracks.predict_state(slots, t)
    else:
        x, P = np.zeros((0, 6)), np.zeros((0, 6, 6))
    sigma = np.sqrt(np.clip(np.trace(P[:, :3, :3], axis1=1, axis2=2), 0, None) / 3.0)
    return TrackPicture(track_id=tracks.track_id[slots].astype(np.int64),
                        pos_ecef=x[:, :3], vel_ecef=x[:, 3:], pos_sigma_m=sigma,
                        ballistic=tracks.class_ballistic_score[slots] > 0, time_s=t)


def _select_candidates(c: Candidates, mask: np.ndarray) -> Candidates:
    """The candidate rows selected by ``mask``."""
    arrays = {f.name: getattr(c, f.name)[mask] for f in dataclass_fields(c)
              if isinstance(getattr(c, f.name), np.ndarray)}
    return dataclass_replace(c, **arrays)


def battle_manage_node(w: World, pipe: Pipeline, st: RunState, node: NodeState, t: float,
                       pos: FloatArray, vel: FloatArray, alive: np.ndarray) -> None:
    """Evaluate, find feasible engagements, assign (the ``Assigner``), commit the decisions."""
    picture = picture_of(st, node, t, pos, vel, alive)
    if len(picture) == 0:
        return
    led = st.ledger
    held = led.get("dead_until_s", picture.track_id) > t
    if held.any():
        keep = ~held
        picture = TrackPicture(track_id=picture.track_id[keep],
                               pos_ecef=picture.pos_ecef[keep],
                               vel_ecef=picture.vel_ecef[keep],
                               pos_sigma_m=picture.pos_sigma_m[keep],
                               ballistic=picture.ballistic[keep], time_s=t)
        if len(picture) == 0:
            return
    inv = st.inventory
    if int(inv.rounds.sum()) == 0:
        return
    assessment = pipe.threat_evaluator.evaluate(picture, w.assets, t)
    candidates = feasible_engagements(picture, assessment, w.units, inv.rounds,
                                      w.interceptors, t, next_launch_s=inv.next_launch_s)
    if len(st.nodes) > 1:  # this node commands only its own fire units
        candidates = _select_candidates(candidates, np.isin(candidates.unit, node.units))
    if len(candidates) == 0:
        return
    engaged = led.get("in_flight", picture.track_id)
    made = led.get("made", picture.track_id)
    free = inv.fire_channels - inv.channels_busy
    asg = pipe.assigner.assign(candidates, assessment, inv.rounds, free, engaged, t,
                               engagements_made=made, capacity=w.rounds0)
    for e in range(len(asg)):
        u, k, nr = int(asg.unit[e]), int(asg.interceptor_type[e]), int(asg.n_rounds[e])
        tid = int(asg.track_id[e])
        t_fire = max(float(asg.t_launch_s[e]), float(inv.next_launch_s[u]), t)
        first = float(inv.fire(u, k, nr, t_fire)[0])
        eid = st.engagements.add(tid, u, k, nr, t)
        r = led.rows(np.array([tid]), create=True)
        led.in_flight[r] += 1
        led.made[r] += 1
        interval = float(w.launch_interval_s[u])
        st.pending.add(np.array([first + j * interval for j in range(nr)]), eid,
                       asg.pip_ecef[e].copy(), float(asg.t_intercept_s[e]))
        st.events.add(t, EventKind.ENGAGE, track_id=tid,
                      threat_id=led.get1("truth", tid) if not st.perfect else tid,
                      battery_id=w.units.unit_id[u], interceptor_type=w.interceptors[k].name,
                      pos_ecef=asg.pip_ecef[e], value=float(asg.expected_gain[e]),
                      detail={"engagement_id": eid, "rounds": nr, "pk": float(asg.pk[e]),
                              "t_intercept_s": float(asg.t_intercept_s[e]),
                              "reason": asg.reason[e]})
    # Why the others were not engaged: logged when a track's reason changes (every cycle
    # would flood the log), with the battle manager's text.
    for tid, code, text in zip(asg.unengaged_track_id.tolist(), asg.unengaged_code,
                               asg.unengaged_reason, strict=True):
        prev = led.get1("hold", tid)
        if code == HoldCode.NO_THREAT and prev < 0:
            continue
        ci = HOLD_CODES.index(code)
        if prev != ci:
            led.set("hold", np.array([tid]), ci)
            st.events.add(t, EventKind.HOLD, track_id=tid,
                          threat_id=led.get1("truth", tid) if not st.perfect else tid,
                          battery_id=",".join(w.units.unit_id[u] for u in node.units.tolist()),
                          detail={"code": code, "reason": text})


# ---------------------------------------------------------------------- weapons
def launch_due(w: World, st: RunState, t: float, dt: float) -> None:
    """Launch the rounds whose time falls inside this step."""
    times, eids, pips, t_ints = st.pending.pop_before(t + dt - 1e-9)
    eng = st.engagements
    for t_l, eid, pip, t_int in zip(times.tolist(), eids.tolist(), pips, t_ints.tolist(),
                                    strict=True):
        u, k = int(eng.unit[eid]), int(eng.itype[eid])
        tid = int(eng.track_id[eid])
        slot = st.table.launch(max(t_l, t), w.units.pos_ecef[u][None, :], pip[None, :],
                               np.array([k]), w.interceptors, battery_index=u,
                               track_id=tid, engagement_id=eid, planned_intercept_s=t_int)
        eng.launched[eid] += 1
        st.fired[k] += 1
        iid = int(st.table.interceptor_id[slot[0]])
        st.events.add(max(t_l, t), EventKind.LAUNCH, track_id=tid,
                      battery_id=w.units.unit_id[u], interceptor_id=iid,
                      interceptor_type=w.interceptors[k].name,
                      pos_ecef=w.units.pos_ecef[u], detail={"engagement_id": eid})


def command_guidance(pipe: Pipeline, st: RunState, slots: np.ndarray, t: float,
                     dt: float) -> None:
    """Fire control (the ``FireControl`` role) per node, on that node's tracks only."""
    tab = st.table
    node_of = st.unit_node[tab.battery_index[slots]]
    for i, node in enumerate(st.nodes):
        mine = slots[node_of == i]
        if mine.size:
            tid, aim, aim_v = pipe.fire_control.guide(node.tracks, tab.track_id[mine],
                                                      tab.aim_ecef[mine],
                                                      tab.aim_vel_ecef[mine], t, dt)
            tab.track_id[mine] = tid
            tab.aim_ecef[mine] = aim
            tab.aim_vel_ecef[mine] = aim_v


def acquire_gun_targets(pipe: Pipeline, st: RunState, slots: np.ndarray, pos: FloatArray,
                        alive: np.ndarray) -> None:
    """Unguided gun bursts without a target take one (the ``GunAcquisition``)."""
    tab = st.table
    gun = slots[st.gun_types[tab.type_index[slots]] & (tab.target_index[slots] < 0)]
    if gun.size:
        got = pipe.gun.acquire(tab.pos_ecef[gun], tab.vel_ecef[gun], tab.aim_ecef[gun], pos,
                               alive)
        tab.target_index[gun] = np.where(got >= 0, got, tab.target_index[gun])


def fly_interceptors(w: World, pipe: Pipeline, st: RunState, t: float, dt: float, k: int,
                     pos: FloatArray, vel: FloatArray) -> None:
    """Guidance, seekers, gun acquisition, the ``Flyout`` step and kill resolution
    (``engine.kills``)."""
    tab = st.table
    slots = tab.active_slots()
    if slots.size == 0:
        return
    alive = st.truth.in_flight[k] & ~st.threats.killed
    # A seeker whose target died lets go (and may lock the next object it sees).
    locked = tab.target_index[slots]
    lost = (locked >= 0) & ~alive[np.clip(locked, 0, None)]
    tab.target_index[slots[lost]] = -1
    # Command guidance from the engaged track (the network's estimate, not truth). Unguided
    # rounds (gun bursts) keep their predicted intercept point.
    guided = ~st.gun_types[tab.type_index[slots]]
    unlocked = slots[(tab.target_index[slots] < 0) & guided]
    if unlocked.size and not st.perfect:
        command_guidance(pipe, st, unlocked, t, dt)
    elif unlocked.size:
        ids = tab.track_id[unlocked]
        ok = (ids >= 0) & alive[np.clip(ids, 0, None)]
        tab.aim_ecef[unlocked[ok]] = pos[ids[ok]]
        tab.aim_vel_ecef[unlocked[ok]] = vel[ids[ok]]
    # Seekers (the physical sensor of the interceptor reads truth).
    pipe.seeker.acquire(tab, w.interceptors, pos, alive)
    acquire_gun_targets(pipe, st, slots, pos, alive)
    target_pos = np.full((tab.capacity, 3), np.nan)
    target_vel = np.full((tab.capacity, 3), np.nan)
    target_acc = np.zeros((tab.capacity, 3))
    act = tab.active_slots()
    tgt = tab.target_index[act]
    has = tgt >= 0
    target_pos[act[has]] = pos[tgt[has]]
    target_vel[act[has]] = vel[tgt[has]]
    if k + 1 < len(w.time_s):
        # Truth acceleration over the step, so a maneuvering target is not flattened to a
        # straight line inside the endgame (15 g over 0.5 s would be ~18 m).
        acc = (st.truth.vel_ecef[k + 1] - vel) / dt
        target_acc[act[has]] = acc[tgt[has]]
    res = pipe.flyout.step(tab, w.interceptors, target_pos, target_vel, t, dt,
                           target_acc_ecef=target_acc)
    if st.record:
        act = tab.active_slots()
        if act.size:
            st.rec_int.append({"time_s": np.full(act.size, t + dt),
                               "interceptor_id": tab.interceptor_id[act].copy(),
                               "battery": tab.battery_index[act].copy(),
                               "type": tab.type_index[act].copy(),
                               "pos": tab.pos_ecef[act].copy()})
    resolve_intercepts(w, pipe, st, res)


# ---------------------------------------------------------------------- the end
def finish(w: World, st: RunState) -> None:
    t_end = float(w.time_s[-1])
    # Launches still scheduled when the scenario ends never happen: the rounds stay on
    # the launchers (the inventory was debited at the decision).
    eng = st.engagements
    for eid in st.pending.engagements().tolist():
        st.inventory.rounds[int(eng.unit[eid]), int(eng.itype[eid])] += 1
    st.pending.clear()
    th = st.threats
    for i in range(len(th.fate)):
        if not th.fate[i]:
            set_fate(st, i, Fate.EXPIRED, t_end)
            st.events.add(t_end, EventKind.EXPIRE, threat_id=i,
                          detail={"type": st.type_names[i],
                                  "launched": bool(st.plan.launch_time_s[i] <= t_end)})
