"""The roles of the kill chain as Protocols: one verb each, batched over arrays.

The engine (``engine.simulate``) is a short loop over components that play these roles; the
factory (``engine.factory``) builds them from the scenario by registry name
(``core.vocabulary``). A component holds parameters only (a frozen dataclass), never run state:
everything that changes during a run lives in ``engine.state.RunState`` and is passed in.

The tables named in the signatures live in the layers above ``core`` (``sensors.Detections``,
``tracking`` track tables, ``c2.types.TrackPicture`` / ``ThreatAssessment`` / ``Candidates`` /
``Assignments``, ``weapons.InterceptorTable``); ``core`` is the bottom layer and imports none
of them, so they appear here as ``Any`` and are named in each docstring.

Truth: only ``Sensor``, ``GunAcquisition`` and ``Flyout`` (the physical interceptor),
``Lethality`` and ``DamageModel`` see truth. ``ThreatEvaluator``, ``Assigner`` and
``FireControl`` see tracks only; their signatures take no truth table
(``tests/test_contracts.py`` checks it).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from shieldwall.core.types import BoolArray, FloatArray, IntArray


@runtime_checkable
class Sensor(Protocol):
    """A sensor: one scan of every truth object at ``time_s``.

    ``site`` is its frame for the tracker (``tracking.tracker.SensorFrameLike``: origin,
    rotation, measurement sigmas); ``scan_period_s`` its revisit; ``measures_range`` whether
    its detections carry range (3-D plots the trackers fuse) or are angle-only (range and range
    rate NaN: recorded, not fused -- see ``docs/architecture.md``).
    """

    site: Any
    scan_period_s: float
    measures_range: bool

    def detect(self, pos_ecef: FloatArray, vel_ecef: FloatArray, rcs_m2: FloatArray,
               swerling: IntArray, alive: BoolArray, time_s: float,
               rng: np.random.Generator) -> Any:
        """Detections (``sensors.Detections``) of one scan: (n, 3) truth states, (n,) mean RCS
        m^2, Swerling case and alive mask; draws only from ``rng``."""
        ...

    def visible(self, pos_ecef: FloatArray) -> BoolArray:
        """(n,) whether points (n, 3) are inside coverage and above the horizon."""
        ...


@runtime_checkable
class Tracker(Protocol):
    """A multi-target tracker: turns one step's detections into an updated track table."""

    def new_table(self) -> Any:
        """An empty track table of this tracker."""
        ...

    def update(self, tracks: Any, detections: Any, sites: Any, time_s: float,
               scanned_sensor_ids: Any = None, coverage: Any = None, *,
               inplace: bool = False) -> Any:
        """``TrackerOutput`` (``.tracks``, ``.log``) after the scans in ``detections``."""
        ...


@runtime_checkable
class ThreatEvaluator(Protocol):
    """Threat evaluation from tracks: value at risk, impact time and class per track."""

    def evaluate(self, picture: Any, assets: Any, time_s: float) -> Any:
        """``c2.types.ThreatAssessment`` (m rows) of a ``TrackPicture`` (m tracks) against an
        ``AssetTable``."""
        ...


@runtime_checkable
class Assigner(Protocol):
    """Weapon-target assignment of one battle-management cycle under doctrine."""

    def assign(self, candidates: Any, assessment: Any, rounds: IntArray,
               free_channels: IntArray, engaged: IntArray, time_s: float,
               engagements_made: IntArray | None = None, capacity: IntArray | None = None,
               prior_survival: FloatArray | None = None) -> Any:
        """``c2.types.Assignments`` from ``Candidates`` (c rows) and a ``ThreatAssessment``
        (m tracks); ``rounds (u, k)``, ``free_channels (u,)``, ``engaged (m,)`` in flight.
        Inputs are not modified."""
        ...


@runtime_checkable
class FireControl(Protocol):
    """Command guidance: where each guided interceptor without a seeker lock should fly."""

    def guide(self, tracks: Any, track_id: IntArray, aim_ecef: FloatArray,
              aim_vel_ecef: FloatArray, time_s: float, dt_s: float
              ) -> tuple[IntArray, FloatArray, FloatArray]:
        """New ``(track_id (n,), aim_ecef (n, 3), aim_vel_ecef (n, 3))`` of n interceptors
        engaged on ``track_id`` with their last commanded point, from a track table only
        (inputs not modified)."""
        ...


@runtime_checkable
class GunAcquisition(Protocol):
    """Which object each unguided gun burst takes (the physical burst and fuze: reads truth)."""

    def acquire(self, burst_pos_ecef: FloatArray, burst_vel_ecef: FloatArray,
                aim_ecef: FloatArray, target_pos_ecef: FloatArray, alive: BoolArray
                ) -> IntArray:
        """``(n,)`` index of the truth object (of m, positions ``(m, 3)``) each of n bursts
        takes, -1 for none; inputs not modified."""
        ...


@runtime_checkable
class Flyout(Protocol):
    """Interceptor flight over one step, resolving closest approaches inside it."""

    def step(self, table: Any, interceptors: Any, target_pos_ecef: FloatArray,
             target_vel_ecef: FloatArray, t0: float, dt: float,
             target_acc_ecef: FloatArray | None = None) -> Any:
        """Advance the ``weapons.InterceptorTable`` (the run state, updated in place) to
        ``t0 + dt``; returns ``InterceptResults``."""
        ...


@runtime_checkable
class Lethality(Protocol):
    """Kill or miss of each resolved intercept."""

    def resolve(self, miss_m: FloatArray, type_index: IntArray,
                rng: np.random.Generator) -> tuple[FloatArray, BoolArray]:
        """``(pk (n,), killed (n,))`` of n intercepts at miss distances ``miss_m`` (m) by
        interceptor type index; draws n uniforms from ``rng``."""
        ...


@runtime_checkable
class DamageModel(Protocol):
    """Damage to the defended assets' critical components from one warhead on the ground."""

    def assess(self, impact_ecef: FloatArray, lethal_radius_m: float, components: Any,
               state: FloatArray, rng: np.random.Generator) -> FloatArray:
        """``(k,)`` new states in [0, 1] (1 intact, 0 destroyed; never above ``state``) of the
        k components of ``components`` (``engine.damage.ComponentTable``: positions, radii,
        lethal-radius multipliers) after a burst at ``impact_ecef (3,)`` of a warhead whose
        5-psi lethal radius is ``lethal_radius_m``; draws only from ``rng``, always the same
        number of draws per call; inputs not modified."""
        ...


ROLES: dict[str, type] = {
    "sensor": Sensor, "tracker": Tracker, "threat_evaluator": ThreatEvaluator,
    "assigner": Assigner, "fire_control": FireControl, "gun": GunAcquisition, "flyout": Flyout,
    "lethality": Lethality, "damage": DamageModel,
}
