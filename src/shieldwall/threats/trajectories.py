"""Truth trajectories of a raid, precomputed on the engine's time grid.

Profiles (``ThreatType.profile``):

- ``quasi_ballistic`` (Iskander class): ground launch, a boost of ``boost_time_s`` with a
  constant thrust acceleration along a fixed direction, then point-mass flight with drag,
  J2 gravity and the Coriolis/centrifugal terms, integrated in ECEF (``ballistic`` module).
  The boost (size and direction) is found by a vectorized shooting method so that the missile
  reaches its apogee and lands on its aim point. Below ``terminal_maneuver_alt_m`` it weaves
  with ``terminal_maneuver_g`` (phase from ``maneuver_seed``); the weave is flown inside the
  shooting, so the aim holds with it (``end_ecef`` is always the integrated impact point).
- ``aeroballistic`` (Kinzhal class): released at ``launch_alt_m`` with ``launch_speed_mps``
  horizontally toward the aim, then the same boost + ballistic solve (higher apogee).
- ``cruise``, ``dive_cruise``, ``drone``: constant-speed kinematic paths over the curved
  earth along great-circle legs through the route waypoints, at ``cruise_alt_m`` above the
  ellipsoid (plus the aim's ground height: no terrain model, the ground is taken flat at the
  target's level), with a climb (or, air-launched, a descent), rounded turns at the waypoints
  and a terminal dive (``airbreathing`` module) over the type's ``dive_range_m`` (or
  ``terminal_dive_range_m``) hitting at ``dive_angle_rad``; low cruise missiles pop up first.

Apogee: the type's ``apogee_alt_m`` is the apogee at maximum range; at shorter range the
apogee above the launch height scales with ``range / max_range_m`` (same trajectory shape),
not below ``min_apogee_fraction`` of it. An unset apogee (0) gives ``0.2 x range``.

Failures (``fails_at_fraction = f``): at ``f`` times the nominal flight time the threat fails.
Ballistic threats lose thrust and maneuver and tumble (drag x ``failure_drag_factor``) until they
hit the ground; air-breathers fall along a cubic Hermite arc (position and velocity continuous)
to the ground point half-way along their horizontal velocity, in
``min(2 sqrt(2 h / g), 3 h / |v_down|)`` seconds (at least 1 s). Either way ``reaches_aim`` is
False and ``end_ecef`` is the crash point.

Outside ``in_flight`` the arrays hold the launch position before launch and ``end_ecef`` after
the end, with zero velocity (all finite; the engine masks with ``in_flight``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shieldwall.catalog.types import ThreatType
from shieldwall.core.errors import InputError
from shieldwall.core.physics import interpolate_hermite_array
from shieldwall.core.types import BoolArray, FloatArray, IntArray
from shieldwall.geo import ecef2geodetic
from shieldwall.threats import airbreathing as ab
from shieldwall.threats.ballistic import (
    STANDARD_GRAVITY_MPS2,
    BallisticPhysics,
    aim_ballistic,
    enu_basis,
    maneuver_phase_rad,
    propagate_ballistic,
    radial_height_m,
)
from shieldwall.threats.raid import AIR_BREATHING_PROFILES, BALLISTIC_PROFILES, ThreatPlan


@dataclass
class TruthTrajectories:
    """Truth of n threats on a grid of T times (docs/internals.md).

    Attributes
    ----------
    time_s : (T,) grid (s)
    pos_ecef, vel_ecef : (T, n, 3) ECEF position (m) and velocity (m/s)
    in_flight : (T, n) ``launch_time <= t < end_time``
    end_time_s : (n,) exact end of flight (may exceed the grid: still flying at the end)
    end_ecef : (n, 3) where the flight ends (impact or crash point)
    reaches_aim : (n,) True: ends at its aim point; False: crashes short
    rcs_m2 : (n,) radar cross section ; swerling : (n,) Swerling case
    """

    time_s: FloatArray
    pos_ecef: FloatArray
    vel_ecef: FloatArray
    in_flight: BoolArray
    end_time_s: FloatArray
    end_ecef: FloatArray
    reaches_aim: BoolArray
    rcs_m2: FloatArray
    swerling: IntArray


def _type_column(plan: ThreatPlan, types: Mapping[str, ThreatType], attr: str) -> np.ndarray:
    names = np.asarray(plan.type_name, dtype=object)
    values = {name: getattr(types[name], attr) for name in set(plan.type_name)}
    return np.array([values[name] for name in names]) if len(names) else np.zeros(0)


def _hermite(s: FloatArray, dt: FloatArray, p0: FloatArray, v0: FloatArray, p1: FloatArray,
             v1: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Cubic Hermite position and velocity at s in [0, 1] over a segment of duration dt
    (``core.physics.interpolate_hermite_array``; ``s``, ``dt`` per row of the ``(m, 3)``
    states)."""
    return interpolate_hermite_array(s[:, None], dt[:, None], p0, v0, p1, v1)


def crash_arc(pos_ecef: FloatArray, vel_ecef: FloatArray, ground_alt_m: FloatArray
              ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """End of the fall of failed air-breathers: (ground point (m,3), velocity there, duration).

    The fall is the cubic Hermite arc from (pos, vel) to the ground point below
    ``pos + v_h T / 2`` (ellipsoidal height ``ground_alt_m``), arriving with ``0.3 v_h`` and a sink
    rate ``2 h / T``: its height is ``h (1 - s^2)`` when level, and stays above ground when
    diving because ``T <= 3 h / |v_down|``.
    """
    up, alt = ab.ecef2nvector(pos_ecef)
    h0 = np.maximum(alt - ground_alt_m, 0.0)
    v_up = np.sum(vel_ecef * up, axis=1)
    v_h = vel_ecef - v_up[:, None] * up
    duration = np.maximum(2.0 * np.sqrt(2.0 * h0 / STANDARD_GRAVITY_MPS2), 1.0)
    diving = v_up < 0
    duration = np.where(diving, np.minimum(duration, np.maximum(
        3.0 * h0 / np.where(diving, -v_up, 1.0), 1.0)), duration)
    ahead = pos_ecef + v_h * (0.5 * duration)[:, None]
    n_ahead, _ = ab.ecef2nvector(ahead)
    p1 = ab.nvector2ecef(n_ahead, ground_alt_m)
    v1 = 0.3 * v_h - (2.0 * h0 / duration)[:, None] * up
    return p1, v1, duration


@dataclass(frozen=True)
class TrajectoryModel:
    """Flies a ``ThreatPlan`` (see the module docstring for the models).

    Parameters
    ----------
    physics : ballistic physics and the RK4 step
    boost_time_s : boost duration of (aero)ballistic missiles
    maneuver_period_s : period of the terminal weave
    maneuver_ramp_m : height band over which the weave fades in
    failure_drag_factor : drag increase of a failed (tumbling) ballistic missile
    min_apogee_fraction : lower bound of the apogee scaling with range
    climb_angle_rad : steepest climb of air-breathers to cruise height
    descent_angle_rad : steepest descent of air-launched air-breathers to cruise height
    dive_angle_rad : impact angle of the terminal dive of air-breathers
    terminal_dive_range_m : ground length of the terminal dive when the type gives none
    max_turn_accel_g, max_turn_rate_rad_s : limits that set the rounded turns at waypoints
    shooting_tolerance_m : miss distance at which the shooting stops
    max_shooting_iterations : Newton iterations of the shooting
    """

    physics: BallisticPhysics = field(default_factory=BallisticPhysics)
    boost_time_s: float = 20.0
    maneuver_period_s: float = 8.0
    maneuver_ramp_m: float = 2000.0
    failure_drag_factor: float = 25.0
    min_apogee_fraction: float = 0.2
    climb_angle_rad: float = float(np.radians(10.0))
    descent_angle_rad: float = float(np.radians(5.0))
    dive_angle_rad: float = float(np.radians(45.0))
    terminal_dive_range_m: float = 3000.0
    max_turn_accel_g: float = 2.0
    max_turn_rate_rad_s: float = float(np.radians(6.0))
    shooting_tolerance_m: float = 0.5
    max_shooting_iterations: int = 30

    def apogee_target_m(self, threat_type: ThreatType, launch_alt_m: FloatArray,
                        range_m: FloatArray) -> FloatArray:
        """Apogee height (m) flown at ground range ``range_m`` (see the module docstring)."""
        frac = np.clip(np.asarray(range_m, float) / threat_type.max_range_m,
                       self.min_apogee_fraction, 1.0)
        if threat_type.apogee_alt_m > 0:
            return launch_alt_m + np.maximum(threat_type.apogee_alt_m - launch_alt_m, 0.0) * frac
        return launch_alt_m + 0.2 * np.asarray(range_m, float)

    def fly(self, plan: ThreatPlan, types: Mapping[str, ThreatType],
            time_s: FloatArray) -> TruthTrajectories:
        """Precompute every trajectory of ``plan`` on the increasing grid ``time_s`` (T,).

        Returns
        -------
        TruthTrajectories with (T, n, 3) ECEF arrays (see the class).
        """
        grid = np.ascontiguousarray(np.asarray(time_s, float).ravel())
        if grid.size > 1 and np.any(np.diff(grid) <= 0):
            raise InputError("<input>", "time grid must be strictly increasing", field="time_s")
        missing = sorted(set(plan.type_name) - set(types))
        if missing:
            raise InputError("<input>", f"unknown threat types {missing}", field="type_name")
        n, n_t = len(plan), grid.size
        pos = np.zeros((n_t, n, 3))
        vel = np.zeros((n_t, n, 3))
        end_time = np.zeros(n)
        end_ecef = np.zeros((n, 3))
        reaches = np.zeros(n, bool)
        profile = _type_column(plan, types, "profile").astype(str) if n else np.zeros(0, str)
        unknown = set(profile) - set(BALLISTIC_PROFILES) - set(AIR_BREATHING_PROFILES)
        if unknown:
            raise InputError("<input>", f"unknown threat profiles {sorted(unknown)}",
                             field="profile")
        bal = np.flatnonzero(np.isin(profile, BALLISTIC_PROFILES))
        air = np.flatnonzero(np.isin(profile, AIR_BREATHING_PROFILES))
        if bal.size:
            self._fly_ballistic(plan.subset(bal), types, grid, bal, pos, vel, end_time,
                                end_ecef, reaches)
        if air.size:
            self._fly_air(plan.subset(air), types, grid, air, pos, vel, end_time, end_ecef,
                          reaches)
        launch = plan.launch_time_s
        before = grid[:, None] < launch[None, :]
        after = grid[:, None] >= end_time[None, :]
        in_flight = ~before & ~after
        pos = np.where(before[..., None], plan.launch_ecef[None], pos)
        pos = np.where(after[..., None], end_ecef[None], pos)
        vel = np.where(in_flight[..., None], vel, 0.0)
        return TruthTrajectories(
            time_s=grid, pos_ecef=pos, vel_ecef=vel, in_flight=in_flight, end_time_s=end_time,
            end_ecef=end_ecef, reaches_aim=reaches,
            rcs_m2=_type_column(plan, types, "rcs_m2").astype(float),
            swerling=_type_column(plan, types, "swerling").astype(np.int64))

    # ------------------------------------------------------------------------------------------
    def _fly_ballistic(self, plan: ThreatPlan, types: Mapping[str, ThreatType], grid: FloatArray,
                       cols: IntArray, pos: FloatArray, vel: FloatArray, end_time: FloatArray,
                       end_ecef: FloatArray, reaches: BoolArray) -> None:
        m = len(plan)
        r0, aim = plan.launch_ecef, plan.aim_ecef
        h_launch = radial_height_m(r0)
        lat, lon, _ = ecef2geodetic(r0)
        rot = enu_basis(lat, lon)
        d_enu = np.einsum("mij,mj->mi", rot, aim - r0)
        ground_range = np.hypot(d_enu[:, 0], d_enu[:, 1])
        heading = d_enu[:, :2] / np.maximum(ground_range, 1e-9)[:, None]
        speed0 = _type_column(plan, types, "launch_speed_mps").astype(float)
        profile = _type_column(plan, types, "profile").astype(str)
        speed0 = np.where(profile == "aeroballistic", speed0, 0.0)
        v_enu = np.concatenate([heading * speed0[:, None], np.zeros((m, 1))], axis=1)
        v0 = np.einsum("mji,mj->mi", rot, v_enu)
        apogee = np.zeros(m)
        for name in set(plan.type_name):
            sel = np.array([t == name for t in plan.type_name])
            apogee[sel] = self.apogee_target_m(types[name], h_launch[sel], ground_range[sel])
        beta = _type_column(plan, types, "ballistic_coefficient_kg_m2").astype(float)
        man_a = _type_column(plan, types, "terminal_maneuver_g").astype(float)
        man_a = man_a * STANDARD_GRAVITY_MPS2
        man_alt = _type_column(plan, types, "terminal_maneuver_alt_m").astype(float)
        phase = maneuver_phase_rad(plan.maneuver_seed)
        common: dict[str, Any] = dict(ballistic_coefficient_kg_m2=beta, maneuver_accel_mps2=man_a,
                      maneuver_alt_m=man_alt, maneuver_phase=phase,
                      maneuver_period_s=self.maneuver_period_s,
                      maneuver_ramp_m=self.maneuver_ramp_m)
        sol = aim_ballistic(r0, v0, aim, apogee, self.physics, boost_time_s=self.boost_time_s,
                            tolerance_m=self.shooting_tolerance_m,
                            max_iterations=self.max_shooting_iterations, **common)
        nominal = sol.flight.end_time_s
        nominal = np.where(np.isfinite(nominal), nominal, self.physics.max_flight_time_s)
        fails = np.isfinite(plan.fails_at_fraction)
        fail_time = np.where(fails, plan.fails_at_fraction * nominal, np.inf)
        flight = propagate_ballistic(
            r0, sol.initial_vel_ecef, self.physics, launch_time_s=plan.launch_time_s,
            ground_height_m=radial_height_m(aim), thrust_accel_ecef=sol.thrust_accel_ecef,
            boost_time_s=self.boost_time_s, fail_time_s=fail_time,
            failure_drag_factor=self.failure_drag_factor, time_s=grid, pos_out=pos,
            vel_out=vel, columns=cols, **common)
        landed = np.isfinite(flight.end_time_s)
        end_time[cols] = np.where(landed, flight.end_time_s,
                                  plan.launch_time_s + self.physics.max_flight_time_s)
        end_ecef[cols] = flight.end_ecef
        reaches[cols] = landed & ~fails

    def _fly_air(self, plan: ThreatPlan, types: Mapping[str, ThreatType], grid: FloatArray,
                 cols: IntArray, pos: FloatArray, vel: FloatArray, end_time: FloatArray,
                 end_ecef: FloatArray, reaches: BoolArray) -> None:
        m = len(plan)
        speed = _type_column(plan, types, "speed_mps").astype(float)
        cruise_alt = _type_column(plan, types, "cruise_alt_m").astype(float)
        dive_range = _type_column(plan, types, "dive_range_m").astype(float)
        _, aim_alt = ab.ecef2nvector(plan.aim_ecef)
        cruise_h = cruise_alt + aim_alt  # flat terrain at the aim's ground height
        dive = np.where(dive_range > 0, dive_range, self.terminal_dive_range_m)
        paths = ab.build_paths(plan.launch_ecef, plan.waypoints_ecef, plan.aim_ecef, cruise_h,
                               self.climb_angle_rad, self.descent_angle_rad, dive,
                               self.dive_angle_rad, speed,
                               self.max_turn_accel_g * STANDARD_GRAVITY_MPS2,
                               self.max_turn_rate_rad_s)
        launch = plan.launch_time_s
        duration = paths.total_length_m / speed
        nominal_end = launch + duration
        fails = np.isfinite(plan.fails_at_fraction)
        fail_t = np.where(fails, launch + plan.fails_at_fraction * duration, np.inf)
        rows_f = np.flatnonzero(fails)
        p_f, v_f = ab.path_state(paths, rows_f, (fail_t[rows_f] - launch[rows_f]) * speed[rows_f],
                                 speed[rows_f])
        p_end, v_end, fall = crash_arc(p_f, v_f, aim_alt[rows_f])
        crash_p1 = np.zeros((m, 3))
        crash_v1 = np.zeros((m, 3))
        crash_p0 = np.zeros((m, 3))
        crash_v0 = np.zeros((m, 3))
        crash_dt = np.ones(m)
        crash_p0[rows_f], crash_v0[rows_f] = p_f, v_f
        crash_p1[rows_f], crash_v1[rows_f], crash_dt[rows_f] = p_end, v_end, fall
        end = np.where(fails, fail_t + crash_dt, nominal_end)
        # The nominal end point: the path's end (the aim point, to rounding).
        p_nom, _ = ab.path_point(paths, np.arange(m), paths.total_x)
        end_time[cols] = end
        end_ecef[cols] = np.where(fails[:, None], crash_p1, p_nom)
        reaches[cols] = ~fails

        flying = (grid[:, None] >= launch[None, :]) & (grid[:, None] < end[None, :])
        k, j = np.nonzero(flying)
        t = grid[k]
        on_path = ~(t >= fail_t[j])
        kp, jp = k[on_path], j[on_path]
        p, v = ab.path_state(paths, jp, (t[on_path] - launch[jp]) * speed[jp], speed[jp])
        pos[kp, cols[jp]] = p
        vel[kp, cols[jp]] = v
        kc, jc = k[~on_path], j[~on_path]
        if kc.size:
            s = (t[~on_path] - fail_t[jc]) / crash_dt[jc]
            p, v = _hermite(s, crash_dt[jc], crash_p0[jc], crash_v0[jc], crash_p1[jc],
                            crash_v1[jc])
            pos[kc, cols[jc]] = p
            vel[kc, cols[jc]] = v


def fly(plan: ThreatPlan, types: Mapping[str, ThreatType], time_s: FloatArray,
        model: TrajectoryModel | None = None) -> TruthTrajectories:
    """Precompute the truth of every threat of ``plan`` on ``time_s`` (docs/internals.md).

    ``model`` holds the modelling parameters (default ``TrajectoryModel()``).
    """
    return (model or TrajectoryModel()).fly(plan, types, time_s)
