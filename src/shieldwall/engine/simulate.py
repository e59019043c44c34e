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
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from dataclasses import replace as dataclass_replace
from typing import Any

import numpy as np

from shieldwall import __version__, geo
from shieldwall.c2 import GreedyAssigner, TrackPicture, evaluate_threats, feasible_engagements
from shieldwall.c2.types import Candidates
from shieldwall.catalog.types import Catalog
from shieldwall.core.random import component_rng, replication_seed_sequence
from shieldwall.core.types import FATES, THREAT_CLASSES, Fate, FloatArray, IntArray, ThreatClass
from shieldwall.engine.damage import damage_fraction
from shieldwall.engine.events import EventLog
from shieldwall.engine.world import World, build_world
from shieldwall.scenario import Scenario
from shieldwall.scenario.models import TrackerSettings
from shieldwall.sensors import Detections, RadarDetector, RadarSite
from shieldwall.threats import fly, generate_raid
from shieldwall.tracking import MotionModel, Tracker
from shieldwall.tracking.imm import ImmTracker, default_models
from shieldwall.tracking.models import Ballistic
from shieldwall.weapons import (
    FireUnitInventory,
    FlyoutModel,
    InterceptorTable,
    SeekerModel,
    acquire_targets,
    assess_kills,
    pk_from_miss_by_type,
)

#: Battle-management cycle (s): how often threats are evaluated and weapons assigned.
BM_PERIOD_S = 1.0
#: ``simulate(progress=...)`` is called every this many steps.
PROGRESS_EVERY_STEPS = 20
#: A track assessed killed is left alone this long before it may be engaged again (s).
ASSESSED_DEAD_HOLD_S = 20.0
#: Fire control hands an interceptor over to the track nearest its commanded point (m).
HANDOVER_RADIUS_M = 3000.0
#: Process noise of ballistic-class tracks (m^2/s^3): covers a ~15 g terminal weave at 1 s revisit.
BALLISTIC_PROCESS_NOISE_M2_S3 = 10000.0
#: Proximity at which an unguided gun burst "acquires" the object nearest its aim point (m).
GUN_PROXIMITY_M = 1500.0


@dataclass
class _Engagement:
    engagement_id: int
    track_id: int
    unit: int
    itype: int
    n_rounds: int
    t_decision: float
    launched: int = 0
    resolved: int = 0
    killed_threats: list[int] = field(default_factory=list)
    last_resolved_s: float = -np.inf
    ka_time_s: float = np.inf
    status: str = "flight"  # flight -> ka_pending -> done


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
    world = build_world(scenario, catalog)
    seed = int(scenario.seed if seed is None else seed)
    perfect = bool(scenario.perfect_information if perfect_information is None
                   else perfect_information)
    runner = _Run(world, seed, replication, perfect, record)
    runner.run(progress)
    return runner.result(_time.perf_counter() - wall0)


def make_tracker(settings: TrackerSettings, sites: list[RadarSite]) -> Tracker | ImmTracker:
    """The engine's tracker for the scenario's ``tracker`` block.

    ``imm``: CV, +-3 g coordinated turns and a ballistic mode (point-mass gravity in rotating
    ECEF, process noise ``BALLISTIC_PROCESS_NOISE_M2_S3`` for drag and re-entry manoeuvres);
    the clutter density is the mean over the radars of false alarms per scan over their
    measurement volume (range x sector x elevation span).
    """
    if settings.kind == "ekf":
        return Tracker(motion=MotionModel(
            ballistic_process_noise_m2_s3=BALLISTIC_PROCESS_NOISE_M2_S3, rotating_frame=True))
    models = list(default_models("ecef", rotating_frame=True))
    models[-1] = Ballistic(q_m2_s3=BALLISTIC_PROCESS_NOISE_M2_S3, frame="ecef",
                           rotating_frame=True)
    densities = []
    for site in sites:
        r = site.radar
        half = r.sector_half_width_rad
        width = 2.0 * np.pi if half is None or half >= np.pi else 2.0 * half
        volume = r.max_range_m * width * max(r.max_elevation_rad - r.min_elevation_rad, 1e-3)
        densities.append(max(r.false_alarms_per_scan, 1e-3) / volume)
    return ImmTracker(models=tuple(models), frame="ecef", filter=settings.filter,
                      association=settings.association,
                      clutter_density=float(np.mean(densities)) if densities else 1e-9,
                      initial_velocity_std_mps=1000.0, max_coast_s=60.0, delete_misses=5,
                      score_drop=12.0, sojourn_s=(20.0, 10.0, 10.0, 60.0))


#: Autonomous mode: battery u's track ids start at (u + 1) x this, so ids stay unique.
TRACK_ID_BLOCK = 1_000_000


@dataclass
class _Node:
    """One battle-management node: its tracker and track table, the sensors it hears, the fire
    units it commands."""

    tracker: Any
    tracks: Any
    sensors: frozenset[int]
    units: IntArray


def make_nodes(world: World, mode: str) -> list[_Node]:
    """``integrated``: one node fusing every sensor and commanding every fire unit (IBCS-like
    network). ``autonomous``: one node per battery that hears only its own radar and decides
    alone (no early-warning cueing, no knowledge of the other batteries' engagements)."""
    tracker = make_tracker(world.scenario.tracker, list(world.sites))
    n_units = len(world.units.unit_id)
    if mode == "integrated":
        return [_Node(tracker, tracker.new_table(),
                      frozenset(s.sensor_id for s in world.sites), np.arange(n_units))]
    nodes = []
    for u in range(n_units):
        table = tracker.new_table()
        table.next_id = (u + 1) * TRACK_ID_BLOCK
        nodes.append(_Node(tracker, table, frozenset({int(world.battery_site[u])}),
                           np.array([u], np.int64)))
    return nodes


class _Run:
    """Mutable state of one run (kept in one object so it can be pickled or checkpointed)."""

    def __init__(self, world: World, seed: int, replication: int, perfect: bool,
                 record: bool) -> None:
        self.world = world
        self.seed = seed
        self.replication = replication
        self.perfect = perfect
        self.record = record
        ss = replication_seed_sequence(seed, replication)
        self.rng_threats = component_rng(ss, "threats")
        self.rng_sites = [component_rng(ss, f"radar:{lbl}:{s.name}")
                          for lbl, s in zip(world.site_label, world.sites, strict=True)]
        self.rng_kill = component_rng(ss, "weapons:kill")
        self.rng_ka = component_rng(ss, "weapons:kill_assessment")

        self.plan = generate_raid(world.waves, world.threat_types, world.assets.pos_ecef,
                                  self.rng_threats)
        self.truth = fly(self.plan, world.threat_types, world.time_s)
        n = len(self.plan.threat_id)
        self.n = n
        self.type_names = list(self.plan.type_name)
        self.classes = [ThreatClass(c) for c in self.plan.threat_class]
        types = world.threat_types
        self.lethal_radius = np.array([types[t].lethal_radius_m for t in self.type_names])
        self.threat_cost = np.array([types[t].unit_cost_usd for t in self.type_names])

        self.detectors = [RadarDetector(s) for s in world.sites]
        self.site_map = {s.sensor_id: s for s in world.sites}
        periods = np.array([s.radar.scan_period_s for s in world.sites])
        phase_rng = component_rng(ss, "radar:phases")
        self.scan_period = periods
        self.next_scan = phase_rng.uniform(0.0, 1.0, len(periods)) * periods

        self.command_mode = world.scenario.doctrine.command_mode
        self.nodes = make_nodes(world, self.command_mode)
        n_units = len(world.units.unit_id)
        self.unit_node = np.zeros(n_units, np.int64)
        for i, node in enumerate(self.nodes):
            self.unit_node[node.units] = i
        self.assigner = GreedyAssigner(world.doctrine)
        self.inventory = FireUnitInventory(rounds=world.rounds0.copy(),
                                           fire_channels=world.fire_channels,
                                           launch_interval_s=world.launch_interval_s)
        self.table = InterceptorTable()
        self.flyout = FlyoutModel()
        self.seeker = SeekerModel()
        self.gun_types = np.array([rec.max_accel_g == 0 or rec.seeker_range_m == 0
                                   for rec in world.interceptors], bool)

        self.killed = np.zeros(n, bool)
        self.kill_time = np.full(n, np.inf)
        self.fate: list[str] = [""] * n
        self.fate_time = np.full(n, np.nan)
        self.done = np.zeros(n, bool)
        self.launch_logged = np.zeros(n, bool)
        self.asset_remaining = world.assets.value.astype(float).copy()
        self.asset_hits = np.zeros(len(world.assets), np.int64)

        self.engagements: list[_Engagement] = []
        self.ka_pending: list[_Engagement] = []
        self.pending: list[tuple[float, int, np.ndarray, float]] = []  # (t, eng, pip, t_int)
        self.in_flight_by_track: dict[int, int] = {}
        self.made_by_track: dict[int, int] = {}
        self.hold_code: dict[int, str] = {}
        self.assessed_dead_until: dict[int, float] = {}
        self.track_truth: dict[int, int] = {}
        self.fired = np.zeros(len(world.interceptors), np.int64)

        self.events = EventLog()
        self.rec_tracks: list[dict[str, np.ndarray]] = []
        self.rec_dets: list[Detections] = []
        self.rec_int: list[dict[str, np.ndarray]] = []
        self.n_detections = 0
        self.n_confirmed = 0
        self.next_bm = 0.0

    # ------------------------------------------------------------------ the loop
    def run(self, progress: Callable[[float, float], None] | None = None) -> None:
        w = self.world
        dt = w.dt_s
        for k, t in enumerate(w.time_s):
            t = float(t)
            if progress is not None and k % PROGRESS_EVERY_STEPS == 0:
                progress(t, float(w.time_s[-1]))
            pos = self.truth.pos_ecef[k]
            vel = self.truth.vel_ecef[k]
            alive = self.truth.in_flight[k] & ~self.killed
            self._threat_milestones(t, dt, k)
            dets, scanned = self._sense(t, pos, vel, alive)
            self._track(t, dets, scanned, pos, vel, alive)
            if t + 1e-9 >= self.next_bm:
                self._battle_manage(t, pos, vel, alive)
                self.next_bm += BM_PERIOD_S
            self._launch_due(t, dt)
            self._fly_interceptors(t, dt, k, pos, vel)
            self._kill_assessments(t)
        if progress is not None:
            progress(float(w.time_s[-1]), float(w.time_s[-1]))
        self._finish()

    def _threat_milestones(self, t: float, dt: float, k: int) -> None:
        """Launch events and the end of flights (leak / crash) in (t - dt, t]."""
        tr = self.truth
        launched = (~self.launch_logged) & (self.plan.launch_time_s <= t)
        for i in np.flatnonzero(launched):
            self.launch_logged[i] = True
            self.events.add(float(self.plan.launch_time_s[i]), "threat_launch",
                            threat_id=int(i), detail={"type": self.type_names[i],
                                                      "launch_time_s": self.plan.launch_time_s[i]})
        ended = (tr.end_time_s <= t) & ~self.done
        for i in np.flatnonzero(ended):
            self._end_flight(int(i))

    def _end_flight(self, i: int) -> None:
        tr = self.truth
        t_end = float(tr.end_time_s[i])
        p = tr.end_ecef[i]
        if not tr.reaches_aim[i]:
            self._set_fate(i, Fate.CRASHED, t_end)
            self.events.add(t_end, "crash", threat_id=i, pos_ecef=p,
                            detail={"type": self.type_names[i]})
            return
        self._set_fate(i, Fate.LEAKED, t_end)
        self.events.add(t_end, "leak", threat_id=i, pos_ecef=p,
                        detail={"type": self.type_names[i],
                                "aim_asset": int(self.plan.aim_asset[i])})
        r = self.lethal_radius[i]
        if r <= 0:
            return
        a = self.world.assets
        dist = np.linalg.norm(a.pos_ecef - p, axis=1)
        frac = damage_fraction(dist, a.radius_m, r)
        for j in np.flatnonzero(frac > 0):
            lost = self.asset_remaining[j] * frac[j]
            self.asset_remaining[j] -= lost
            self.asset_hits[j] += 1
            self.events.add(t_end, "asset_damage", threat_id=i, pos_ecef=p, value=lost,
                            detail={"asset": a.asset_id[j], "fraction": float(frac[j]),
                                    "miss_m": float(dist[j])})

    def _set_fate(self, i: int, fate: Fate, t: float) -> None:
        if self.fate[i]:
            raise AssertionError(f"threat {i} already ended as {self.fate[i]}")
        self.fate[i] = fate.value
        self.fate_time[i] = t
        self.done[i] = True

    # ------------------------------------------------------------------ sensing and tracking
    def _sense(self, t: float, pos: FloatArray, vel: FloatArray,
               alive: np.ndarray) -> tuple[Detections, list[int]]:
        due = np.flatnonzero(self.next_scan <= t + 1e-9)
        batches = []
        tr = self.truth
        for s in due:
            batches.append(self.detectors[s].detect(pos, vel, tr.rcs_m2, tr.swerling, alive, t,
                                                    self.rng_sites[s]))
            self.next_scan[s] += self.scan_period[s]
        dets = Detections.concat(batches)
        self.n_detections += len(dets)
        if self.record and len(dets):
            self.rec_dets.append(dets)
        return dets, [self.world.sites[s].sensor_id for s in due]

    def _coverage(self, sensor_id: int, pos_ecef: FloatArray) -> np.ndarray:
        # A track misses a scan only where the radar could have seen it (incl. the horizon).
        return self.detectors[sensor_id].visible(pos_ecef)

    def _track(self, t: float, dets: Detections, scanned: list[int], pos: FloatArray,
               vel: FloatArray, alive: np.ndarray) -> None:
        if self.perfect or not scanned:
            return
        for node in self.nodes:
            if len(self.nodes) == 1:
                d, sc = dets, scanned
            else:
                sc = [s for s in scanned if s in node.sensors]
                if not sc:
                    continue
                d = dets.select(np.isin(dets.sensor_id, sorted(node.sensors)))
            out = node.tracker.update(node.tracks, d, self.site_map, t, scanned_sensor_ids=sc,
                                      coverage=self._coverage, inplace=True)
            node.tracks = out.tracks
            self._log_tracking(t, d, out.log, node.tracks)

    def _log_tracking(self, t: float, dets: Detections, log: Any, tracks: Any) -> None:
        # Evaluation only: which truth object fed each track (never read by the battle manager).
        for tid, row in zip(log.track_id.tolist(), log.detection_index.tolist(), strict=True):
            self.track_truth[tid] = int(dets.truth_index[row])
        for tid in log.confirmed_track_id.tolist():
            self.n_confirmed += 1
            self.events.add(t, "track_confirmed", track_id=tid,
                            threat_id=self.track_truth.get(tid, -1))
        for tid, was in zip(log.deleted_track_id.tolist(), log.deleted_was_confirmed.tolist(),
                            strict=True):
            if was:
                self.events.add(t, "track_deleted", track_id=tid,
                                threat_id=self.track_truth.get(tid, -1))
        if self.record:
            slots = tracks.confirmed()
            slots = slots[np.isclose(tracks.last_update_s[slots], t)]
            if slots.size:
                x = tracks.x[slots, :6]
                ids = tracks.track_id[slots]
                self.rec_tracks.append({
                    "time_s": np.full(slots.size, t), "track_id": ids.copy(),
                    "x": x.copy(), "ballistic": tracks.class_ballistic_score[slots] > 0,
                    "truth_id": np.array([self.track_truth.get(int(i), -1) for i in ids])})

    # ------------------------------------------------------------------ battle management
    def _picture(self, node: _Node, t: float, pos: FloatArray, vel: FloatArray,
                 alive: np.ndarray) -> TrackPicture:
        if self.perfect:
            idx = np.flatnonzero(alive)
            ballistic = np.array([self.classes[i] in (ThreatClass.BALLISTIC,
                                                      ThreatClass.AEROBALLISTIC) for i in idx],
                                 bool)
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

    def _battle_manage(self, t: float, pos: FloatArray, vel: FloatArray,
                       alive: np.ndarray) -> None:
        for node in self.nodes:
            self._battle_manage_node(node, t, pos, vel, alive)

    def _battle_manage_node(self, node: _Node, t: float, pos: FloatArray, vel: FloatArray,
                            alive: np.ndarray) -> None:
        w = self.world
        picture = self._picture(node, t, pos, vel, alive)
        if len(picture) == 0:
            return
        held = np.array([self.assessed_dead_until.get(int(i), -np.inf) > t
                         for i in picture.track_id], bool)
        if held.any():
            keep = ~held
            picture = TrackPicture(track_id=picture.track_id[keep],
                                   pos_ecef=picture.pos_ecef[keep],
                                   vel_ecef=picture.vel_ecef[keep],
                                   pos_sigma_m=picture.pos_sigma_m[keep],
                                   ballistic=picture.ballistic[keep], time_s=t)
            if len(picture) == 0:
                return
        inv = self.inventory
        if int(inv.rounds.sum()) == 0:
            return
        assessment = evaluate_threats(picture, w.assets, t)
        candidates = feasible_engagements(picture, assessment, w.units, inv.rounds,
                                          w.interceptors, t, next_launch_s=inv.next_launch_s)
        if len(self.nodes) > 1:  # this node commands only its own fire units
            candidates = _select_candidates(candidates, np.isin(candidates.unit, node.units))
        if len(candidates) == 0:
            return
        ids = picture.track_id.tolist()
        engaged = np.array([self.in_flight_by_track.get(i, 0) for i in ids], np.int64)
        made = np.array([self.made_by_track.get(i, 0) for i in ids], np.int64)
        free = inv.fire_channels - inv.channels_busy
        asg = self.assigner.assign(candidates, assessment, inv.rounds, free, engaged, t,
                                   engagements_made=made, capacity=w.rounds0)
        for e in range(len(asg)):
            u, k, nr = int(asg.unit[e]), int(asg.interceptor_type[e]), int(asg.n_rounds[e])
            tid = int(asg.track_id[e])
            t_fire = max(float(asg.t_launch_s[e]), float(inv.next_launch_s[u]), t)
            first = float(inv.fire(u, k, nr, t_fire)[0])
            eng = _Engagement(engagement_id=len(self.engagements), track_id=tid, unit=u,
                              itype=k, n_rounds=nr, t_decision=t)
            self.engagements.append(eng)
            self.in_flight_by_track[tid] = self.in_flight_by_track.get(tid, 0) + 1
            self.made_by_track[tid] = self.made_by_track.get(tid, 0) + 1
            interval = float(w.launch_interval_s[u])
            for j in range(nr):
                self.pending.append((first + j * interval, eng.engagement_id,
                                     asg.pip_ecef[e].copy(), float(asg.t_intercept_s[e])))
            self.events.add(t, "engage", track_id=tid, threat_id=self.track_truth.get(tid, -1)
                            if not self.perfect else tid, battery_id=w.units.unit_id[u],
                            interceptor_type=w.interceptors[k].name,
                            pos_ecef=asg.pip_ecef[e], value=float(asg.expected_gain[e]),
                            detail={"engagement_id": eng.engagement_id, "rounds": nr,
                                    "pk": float(asg.pk[e]),
                                    "t_intercept_s": float(asg.t_intercept_s[e]),
                                    "reason": asg.reason[e]})
        # Why the others were not engaged: logged when a track's reason changes (every cycle
        # would flood the log), with the battle manager's text.
        for tid, code, text in zip(asg.unengaged_track_id.tolist(), asg.unengaged_code,
                                   asg.unengaged_reason, strict=True):
            if code == "no_threat" and tid not in self.hold_code:
                continue
            if self.hold_code.get(tid) != code:
                self.hold_code[tid] = code
                self.events.add(t, "hold", track_id=tid,
                                threat_id=self.track_truth.get(tid, -1) if not self.perfect
                                else tid, battery_id=",".join(
                                    w.units.unit_id[u] for u in node.units.tolist()),
                                detail={"code": code, "reason": text})
        self.pending.sort(key=lambda p: (p[0], p[1]))

    # ------------------------------------------------------------------ weapons
    def _launch_due(self, t: float, dt: float) -> None:
        w = self.world
        due = [p for p in self.pending if p[0] < t + dt - 1e-9]
        if not due:
            return
        self.pending = [p for p in self.pending if p[0] >= t + dt - 1e-9]
        for t_l, eid, pip, t_int in due:
            eng = self.engagements[eid]
            u, k = eng.unit, eng.itype
            slot = self.table.launch(max(t_l, t), w.units.pos_ecef[u][None, :], pip[None, :],
                                     np.array([k]), w.interceptors, battery_index=u,
                                     track_id=eng.track_id, engagement_id=eid,
                                     planned_intercept_s=t_int)
            eng.launched += 1
            self.fired[k] += 1
            iid = int(self.table.interceptor_id[slot[0]])
            self.events.add(max(t_l, t), "launch", track_id=eng.track_id,
                            battery_id=w.units.unit_id[u], interceptor_id=iid,
                            interceptor_type=w.interceptors[k].name,
                            pos_ecef=w.units.pos_ecef[u], detail={"engagement_id": eid})

    def _fly_interceptors(self, t: float, dt: float, k: int, pos: FloatArray,
                          vel: FloatArray) -> None:
        tab = self.table
        slots = tab.active_slots()
        if slots.size == 0:
            return
        alive = self.truth.in_flight[k] & ~self.killed
        # A seeker whose target died lets go (and may lock the next object it sees).
        locked = tab.target_index[slots]
        lost = (locked >= 0) & ~alive[np.clip(locked, 0, None)]
        tab.target_index[slots[lost]] = -1
        # Command guidance from the engaged track (the network's estimate, not truth). Unguided
        # rounds (gun bursts) keep their predicted intercept point.
        guided = ~self.gun_types[tab.type_index[slots]]
        unlocked = slots[(tab.target_index[slots] < 0) & guided]
        if unlocked.size and not self.perfect:
            self._command_guidance(unlocked, t, dt)
        elif unlocked.size:
            ids = tab.track_id[unlocked]
            ok = (ids >= 0) & alive[np.clip(ids, 0, None)]
            tab.aim_ecef[unlocked[ok]] = pos[ids[ok]]
            tab.aim_vel_ecef[unlocked[ok]] = vel[ids[ok]]
        # Seekers (the physical sensor of the interceptor reads truth).
        self.seeker.acquire(tab, self.world.interceptors, pos, alive)
        gun = slots[self.gun_types[tab.type_index[slots]] & (tab.target_index[slots] < 0)]
        if gun.size:
            near = np.linalg.norm(tab.pos_ecef[gun] - tab.aim_ecef[gun], axis=1) < GUN_PROXIMITY_M
            g = gun[near]
            if g.size:
                tab.target_index[g] = acquire_targets(tab.pos_ecef[g], tab.vel_ecef[g],
                                                      tab.aim_ecef[g], pos, alive,
                                                      GUN_PROXIMITY_M, np.radians(20.0))
        target_pos = np.full((tab.capacity, 3), np.nan)
        target_vel = np.full((tab.capacity, 3), np.nan)
        target_acc = np.zeros((tab.capacity, 3))
        act = tab.active_slots()
        tgt = tab.target_index[act]
        has = tgt >= 0
        target_pos[act[has]] = pos[tgt[has]]
        target_vel[act[has]] = vel[tgt[has]]
        if k + 1 < len(self.world.time_s):
            # Truth acceleration over the step, so a maneuvering target is not flattened to a
            # straight line inside the endgame (15 g over 0.5 s would be ~18 m).
            acc = (self.truth.vel_ecef[k + 1] - vel) / dt
            target_acc[act[has]] = acc[tgt[has]]
        res = self.flyout.step(tab, self.world.interceptors, target_pos, target_vel, t, dt,
                               target_acc_ecef=target_acc)
        if self.record:
            act = tab.active_slots()
            if act.size:
                self.rec_int.append({"time_s": np.full(act.size, t + dt),
                                     "interceptor_id": tab.interceptor_id[act].copy(),
                                     "battery": tab.battery_index[act].copy(),
                                     "type": tab.type_index[act].copy(),
                                     "pos": tab.pos_ecef[act].copy()})
        self._resolve(res)

    def _command_guidance(self, slots: np.ndarray, t: float, dt: float) -> None:
        """Uplink the engaged track's state; hand over to another track if it was dropped.

        A track that breaks (a maneuvering target, a missed scan) is replaced by the confirmed
        track nearest the interceptor's last commanded point, if one lies within
        ``HANDOVER_RADIUS_M`` -- fire control re-associating on tracks, never on truth.
        """
        tab = self.table
        node_of = self.unit_node[tab.battery_index[slots]]
        for i, node in enumerate(self.nodes):
            mine = slots[node_of == i]
            if mine.size:
                self._guide_from(node.tracks, mine, t, dt)

    def _guide_from(self, tracks: Any, slots: np.ndarray, t: float, dt: float) -> None:
        tab = self.table
        tslots = tracks.slots_of(tab.track_id[slots])
        lost = slots[tslots < 0]
        if lost.size:
            # Dead-reckon the commanded point, then look for a track to hand over to.
            tab.aim_ecef[lost] += tab.aim_vel_ecef[lost] * dt
            conf = tracks.confirmed()
            if conf.size:
                xc, _ = tracks.predict_state(conf, t)
                d = np.linalg.norm(tab.aim_ecef[lost][:, None, :] - xc[None, :, :3], axis=2)
                best = np.argmin(d, axis=1)
                ok = d[np.arange(lost.size), best] < HANDOVER_RADIUS_M
                tab.track_id[lost[ok]] = tracks.track_id[conf[best[ok]]]
                tslots = tracks.slots_of(tab.track_id[slots])
        have = tslots >= 0
        if have.any():
            x, _ = tracks.predict_state(tslots[have], t)
            tab.aim_ecef[slots[have]] = x[:, :3]
            tab.aim_vel_ecef[slots[have]] = x[:, 3:]

    def _resolve(self, res: Any) -> None:
        w = self.world
        tab = self.table
        n_hit = res.slot.size
        if n_hit:
            types = tab.type_index[res.slot]
            pk = pk_from_miss_by_type(res.miss_m, types, w.interceptors)
            draws = self.rng_kill.random(n_hit)
            order = np.argsort(res.time_s, kind="stable")
            for r in order:
                s = int(res.slot[r])
                eid = int(tab.engagement_id[s])
                eng = self.engagements[eid]
                tgt = int(res.target_index[r])
                t_ca = float(res.time_s[r])
                kill = bool(draws[r] < pk[r]) and tgt >= 0 and not self.killed[tgt]
                kind = "intercept_kill" if kill else "intercept_miss"
                if kill:
                    self.killed[tgt] = True
                    self.kill_time[tgt] = t_ca
                    self._set_fate(tgt, Fate.INTERCEPTED, t_ca)
                    eng.killed_threats.append(tgt)
                self.events.add(t_ca, kind, threat_id=tgt, track_id=eng.track_id,
                                battery_id=w.units.unit_id[eng.unit],
                                interceptor_id=int(res.interceptor_id[r]),
                                interceptor_type=w.interceptors[eng.itype].name,
                                pos_ecef=res.pos_ecef[r], value=float(pk[r]),
                                detail={"miss_m": float(res.miss_m[r]), "pk": float(pk[r]),
                                        "engagement_id": eid})
                self._round_resolved(eng, t_ca)
        for r in range(res.destroyed_slot.size):
            s = int(res.destroyed_slot[r])
            eid = int(tab.engagement_id[s])
            eng = self.engagements[eid]
            t_d = float(res.destroyed_time_s[r])
            self.events.add(t_d, "self_destruct", track_id=eng.track_id,
                            battery_id=w.units.unit_id[eng.unit],
                            interceptor_id=int(res.destroyed_interceptor_id[r]),
                            interceptor_type=w.interceptors[eng.itype].name,
                            pos_ecef=res.destroyed_pos_ecef[r],
                            detail={"reason": int(res.destroyed_reason[r]),
                                    "engagement_id": eid})
            self._round_resolved(eng, t_d)

    def _round_resolved(self, eng: _Engagement, t: float) -> None:
        eng.resolved += 1
        eng.last_resolved_s = max(eng.last_resolved_s, t)
        if eng.resolved == eng.n_rounds:
            eng.status = "ka_pending"
            self.ka_pending.append(eng)
            eng.ka_time_s = eng.last_resolved_s + float(self.world.ka_delay_s[eng.unit])
            self.inventory.release_channel(eng.unit)

    def _kill_assessments(self, t: float) -> None:
        if not self.ka_pending:
            return
        due = [e for e in self.ka_pending if e.ka_time_s <= t]
        if not due:
            return
        self.ka_pending = [e for e in self.ka_pending if e.ka_time_s > t]
        for eng in due:
            eng.status = "done"
            truly = len(eng.killed_threats) > 0
            verdict = bool(assess_kills(np.array([truly]),
                                        float(self.world.ka_pcorrect[eng.unit]),
                                        self.rng_ka)[0])
            tid = eng.track_id
            self.in_flight_by_track[tid] = max(0, self.in_flight_by_track.get(tid, 0) - 1)
            if verdict:
                self.assessed_dead_until[tid] = t + ASSESSED_DEAD_HOLD_S
            self.events.add(t, "kill_assessment", track_id=tid,
                            battery_id=self.world.units.unit_id[eng.unit],
                            detail={"engagement_id": eng.engagement_id,
                                    "assessed_killed": verdict, "truly_killed": truly})

    # ------------------------------------------------------------------ the end
    def _finish(self) -> None:
        t_end = float(self.world.time_s[-1])
        # Launches still scheduled when the scenario ends never happen: the rounds stay on
        # the launchers (the inventory was debited at the decision).
        for _t, eid, _pip, _ti in self.pending:
            eng = self.engagements[eid]
            self.inventory.rounds[eng.unit, eng.itype] += 1
        self.pending = []
        for i in range(self.n):
            if not self.fate[i]:
                self._set_fate(i, Fate.EXPIRED, t_end)
                self.events.add(t_end, "expire", threat_id=i,
                                detail={"type": self.type_names[i],
                                        "launched": bool(self.plan.launch_time_s[i] <= t_end)})

    def result(self, wall_time_s: float) -> RunResult:
        w = self.world
        fates = self.fate
        assert all(fates), "every threat must end in a fate"
        by_class: dict[str, dict[str, int]] = {
            c.value: {f.value: 0 for f in FATES} for c in THREAT_CLASSES}
        by_type: dict[str, dict[str, int]] = {}
        for i, f in enumerate(fates):
            by_class[self.classes[i].value][f] += 1
            by_type.setdefault(self.type_names[i], {x.value: 0 for x in FATES})[f] += 1
        fired = {rec.name: int(self.fired[k]) for k, rec in enumerate(w.interceptors)}
        cost = float(sum(self.fired[k] * rec.unit_cost_usd
                         for k, rec in enumerate(w.interceptors)))
        raid_cost = float(self.threat_cost.sum())
        asset_damage = {
            w.assets.asset_id[j]: {"value": float(w.assets.value[j]),
                                   "value_lost": float(w.assets.value[j]
                                                       - self.asset_remaining[j]),
                                   "hits": int(self.asset_hits[j])}
            for j in range(len(w.assets))}
        value_lost = float(sum(d["value_lost"] for d in asset_damage.values()))
        summary: dict[str, Any] = {
            "scenario": w.scenario.name,
            "seed": self.seed,
            "replication": self.replication,
            "version": __version__,
            "perfect_information": self.perfect,
            "duration_s": float(w.time_s[-1]),
            "threats": self.n,
            "fates": {f.value: int(sum(1 for x in fates if x == f.value)) for f in FATES},
            "fates_by_class": by_class,
            "fates_by_type": by_type,
            "interceptors_fired": fired,
            "interceptors_remaining": {rec.name: int(self.inventory.rounds[:, k].sum())
                                       for k, rec in enumerate(w.interceptors)},
            "interceptor_cost_usd": cost,
            "raid_cost_usd": raid_cost,
            "cost_exchange_ratio": cost / raid_cost if raid_cost > 0 else None,
            "asset_damage": asset_damage,
            "value_lost": value_lost,
            "value_total": float(w.assets.value.sum()),
            "engagements": len(self.engagements),
            "detections": int(self.n_detections),
            "tracks_confirmed": int(self.n_confirmed),
        }
        tables = self._tables() if self.record else {}
        return RunResult(summary=summary, scenario_doc=self._scenario_doc(), tables=tables,
                         events=self.events, fates=list(fates), wall_time_s=wall_time_s)

    def _scenario_doc(self) -> dict[str, Any]:
        w = self.world
        s = w.scenario
        batteries = []
        for u, b in enumerate(s.batteries):
            site = w.sites[int(w.battery_site[u])]
            ks = np.flatnonzero(w.rounds0[u] > 0)
            reach = max((w.interceptors[k].envelopes[c].max_range_m
                         for k in ks for c in w.interceptors[k].envelopes), default=0.0)
            half = site.radar.sector_half_width_rad
            batteries.append({
                "id": b.id, "system": b.system, "lat_deg": b.lat_deg, "lon_deg": b.lon_deg,
                "heading_deg": b.radar_heading_deg, "radar_range_m": site.radar.max_range_m,
                "sector_half_width_deg": None if half is None else float(np.degrees(half)),
                "engagement_range_m": float(reach),
                "interceptors": {w.interceptors[k].name: int(w.rounds0[u, k]) for k in ks},
                "alt_m": float(b.alt_m),
                "antenna_height_m": float(site.radar.antenna_height_m)})
        sensors = []
        for sn in s.sensors:
            radar = w.catalog.radars[sn.radar]
            half = radar.sector_half_width_rad
            sensors.append({"id": sn.id, "radar": sn.radar, "lat_deg": sn.lat_deg,
                            "lon_deg": sn.lon_deg, "heading_deg": sn.heading_deg,
                            "range_m": radar.max_range_m,
                            "sector_half_width_deg": None if half is None
                            else float(np.degrees(half)),
                            "alt_m": float(sn.alt_m),
                            "antenna_height_m": float(radar.antenna_height_m)})
        return {"name": s.name, "origin": {"lat_deg": s.origin.lat_deg,
                                           "lon_deg": s.origin.lon_deg},
                "duration_s": float(w.time_s[-1]),
                "assets": [{"id": a.id, "kind": str(a.kind), "lat_deg": a.lat_deg,
                            "lon_deg": a.lon_deg, "value": a.value, "radius_m": a.radius_m}
                           for a in s.assets],
                "batteries": batteries, "sensors": sensors}

    def _tables(self) -> dict[str, dict[str, Any]]:
        return build_tables(self)


def _select_candidates(c: Candidates, mask: np.ndarray) -> Candidates:
    """The candidate rows selected by ``mask``."""
    arrays = {f.name: getattr(c, f.name)[mask] for f in dataclass_fields(c)
              if isinstance(getattr(c, f.name), np.ndarray)}
    return dataclass_replace(c, **arrays)


def _geodetic_columns(p: FloatArray) -> dict[str, np.ndarray]:
    if p.shape[0] == 0:
        z = np.zeros(0)
        return {"lat_deg": z, "lon_deg": z, "alt_m": z}
    lat, lon, alt = geo.ecef2geodetic(p)
    return {"lat_deg": np.atleast_1d(lat), "lon_deg": np.atleast_1d(lon),
            "alt_m": np.atleast_1d(alt)}


def build_tables(run: _Run) -> dict[str, dict[str, Any]]:
    """Columns of truth, tracks, detections, interceptors and events (docs/internals.md)."""
    w = run.world
    tr = run.truth
    t = w.time_s
    alive = tr.in_flight & (t[:, None] < run.kill_time[None, :])
    kk, ii = np.nonzero(alive)
    p = tr.pos_ecef[kk, ii]
    v = tr.vel_ecef[kk, ii]
    truth = {"time_s": t[kk], "threat_id": ii.astype(np.int64),
             "threat_type": [run.type_names[i] for i in ii],
             "threat_class": [run.classes[i].value for i in ii],
             **_geodetic_columns(p),
             "x_m": p[:, 0], "y_m": p[:, 1], "z_m": p[:, 2],
             "vx_mps": v[:, 0], "vy_mps": v[:, 1], "vz_mps": v[:, 2]}

    if run.rec_tracks:
        tt = {key: np.concatenate([r[key] for r in run.rec_tracks]) for key in run.rec_tracks[0]}
    else:
        tt = {"time_s": np.zeros(0), "track_id": np.zeros(0, np.int64), "x": np.zeros((0, 6)),
              "ballistic": np.zeros(0, bool), "truth_id": np.zeros(0, np.int64)}
    x = tt["x"]
    tracks = {"time_s": tt["time_s"], "track_id": tt["track_id"].astype(np.int64),
              "status": ["confirmed"] * len(tt["time_s"]),
              "class_estimate": np.where(tt["ballistic"], "ballistic", "air_breathing").tolist(),
              **_geodetic_columns(x[:, :3]),
              "x_m": x[:, 0], "y_m": x[:, 1], "z_m": x[:, 2],
              "vx_mps": x[:, 3], "vy_mps": x[:, 4], "vz_mps": x[:, 5],
              "truth_id": tt["truth_id"].astype(np.int64)}

    d = Detections.concat(run.rec_dets)
    detections = {"time_s": d.time_s, "sensor_id": d.sensor_id, "range_m": d.range_m,
                  "azimuth_rad": d.azimuth_rad, "elevation_rad": d.elevation_rad,
                  "range_rate_mps": d.range_rate_mps, "snr_db": d.snr_db,
                  "truth_id": d.truth_index}

    if run.rec_int:
        ri = {key: np.concatenate([r[key] for r in run.rec_int]) for key in run.rec_int[0]}
    else:
        ri = {"time_s": np.zeros(0), "interceptor_id": np.zeros(0, np.int64),
              "battery": np.zeros(0, np.int64), "type": np.zeros(0, np.int64),
              "pos": np.zeros((0, 3))}
    interceptors = {"time_s": ri["time_s"], "interceptor_id": ri["interceptor_id"],
                    "battery_id": [w.units.unit_id[b] for b in ri["battery"]],
                    "interceptor_type": [w.interceptors[k].name for k in ri["type"]],
                    **_geodetic_columns(ri["pos"])}

    ev = run.events
    order = np.argsort(np.array(ev.time_s), kind="stable")
    pe = np.array(ev.pos_ecef, float).reshape(-1, 3)[order]
    finite = np.isfinite(pe).all(axis=1)
    geo_cols = {"lat_deg": np.full(len(order), np.nan), "lon_deg": np.full(len(order), np.nan),
                "alt_m": np.full(len(order), np.nan)}
    if finite.any():
        g = _geodetic_columns(pe[finite])
        for key in geo_cols:
            geo_cols[key][finite] = g[key]

    def pick(col: list[Any]) -> list[Any]:
        return [col[i] for i in order]

    events = {"time_s": np.array(ev.time_s)[order], "kind": pick(ev.kind),
              "threat_id": np.array(ev.threat_id, np.int64)[order],
              "track_id": np.array(ev.track_id, np.int64)[order],
              "battery_id": pick(ev.battery_id),
              "interceptor_id": np.array(ev.interceptor_id, np.int64)[order],
              "interceptor_type": pick(ev.interceptor_type), **geo_cols,
              "value": np.array(ev.value, float)[order], "detail": pick(ev.detail)}
    return {"truth": truth, "tracks": tracks, "detections": detections,
            "interceptors": interceptors, "events": events}
