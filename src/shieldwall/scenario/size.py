"""How big a run of a scenario will be, before it starts: threats, time steps, truth samples,
peak memory and a rough wall time; and the refusal past a memory limit.

The engine precomputes every trajectory on the time grid, so a run holds ``steps x threats``
ECEF positions and velocities (48 bytes each, about twice that while they are built); a
recorded run (``shieldwall run``) also keeps one row per in-flight sample in the truth table and
the detections and track updates of every scan, and writes the report from them. The constants
below were fitted to peak resident memory measured with ``/usr/bin/time -v`` on real runs (tiny
scenario, ``examples/capital_region.yaml``, ``examples/raid_1000.yaml`` and truth-heavy raids;
``benchmarks/RESULTS.md``, "Run size estimate"); ``tests/test_input_limits.py`` checks the
estimate against measured runs of two sizes within ``ESTIMATE_FACTOR``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shieldwall.catalog.loader import load_catalog
from shieldwall.catalog.types import Catalog
from shieldwall.core.errors import InputError
from shieldwall.geo import ground_distance_m
from shieldwall.scenario.models import Scenario

#: Default ``--max-memory-gb``: the largest run started without being asked for more.
DEFAULT_MAX_MEMORY_GB = 8.0
#: The memory estimate is within this factor of the measured peak (tested on two sizes).
ESTIMATE_FACTOR = 2.0

#: Resident memory of the process before the run: Python, numpy, numba, the catalog (and
#: pyarrow and the report's modules for a recorded run).
BASE_BYTES = 360e6
BASE_BYTES_UNRECORDED = 270e6
#: Per (time step x threat): truth positions and velocities and their construction copies.
BYTES_PER_THREAT_STEP = 80.0
#: Per in-flight truth sample of a recorded run: its truth row and report data ...
BYTES_PER_SAMPLE_RECORDED = 150.0
#: ... and per radar scan of it (``dt / scan_period`` per radar): detection and track rows.
BYTES_PER_SAMPLE_SCAN_RECORDED = 135.0
#: Per in-flight truth sample and radar scan without recording (Monte Carlo replications):
#: the detections and tracker state of the scans.
BYTES_PER_SAMPLE_SCAN_UNRECORDED = 65.0
#: Wall time of the simulation per time step and per in-flight sample per radar (rough: within
#: a factor ~3; the report of a recorded run adds up to ~60 %).
SECONDS_PER_STEP = 5e-3
SECONDS_PER_SAMPLE_RADAR = 4.5e-6

_BALLISTIC_PROFILES = ("quasi_ballistic", "aeroballistic")
#: Mean ground speed of a ballistic flight as a fraction of the type's burnout speed.
_BALLISTIC_MEAN_SPEED_FRACTION = 0.6
#: Launch times sampled over each wave's window to estimate its in-flight time.
_WINDOW_SAMPLES = 16


@dataclass(frozen=True)
class RunEstimate:
    """The estimated size of one run (or one Monte Carlo replication, ``recorded=False``)."""

    threats: int
    steps: int
    truth_samples: int       # (step, threat) pairs with the threat in flight
    radars: int
    recorded: bool
    memory_bytes: float
    wall_time_s: float

    @property
    def threat_steps(self) -> int:
        """Size of the precomputed truth grid: time steps x threats."""
        return self.steps * self.threats

    @property
    def memory_gb(self) -> float:
        """Estimated peak resident memory, GB (10^9 bytes)."""
        return self.memory_bytes / 1e9

    def describe(self) -> str:
        """One line: ``84 threats x 2401 steps, ~60,000 truth samples, ~0.5 GB, ~1 min``."""
        return (f"{self.threats:,} threats x {self.steps:,} time steps, ~{self.truth_samples:,} "
                f"in-flight truth samples; estimated peak memory {_gb(self.memory_gb)}, wall "
                f"time {format_duration(self.wall_time_s)}")


def _gb(x: float) -> str:
    return f"{x:.2g} GB" if x < 10 else f"{x:,.0f} GB"


def format_duration(seconds: float) -> str:
    """``42 s``, ``12 min``, ``3.5 h``, ``41 days``, ``1,200 years`` (rough estimates)."""
    if not math.isfinite(seconds):
        return "forever"
    if seconds < 90:
        return f"~{seconds:.0f} s"
    if seconds < 5400:
        return f"~{seconds / 60:.0f} min"
    if seconds < 2 * 86_400:
        return f"~{seconds / 3600:.1f} h"
    if seconds < 2 * 365 * 86_400:
        return f"~{seconds / 86_400:,.0f} days"
    return f"~{seconds / (365 * 86_400):,.0f} years"


def n_steps(scenario: Scenario) -> int:
    """Time steps of the engine's grid (as ``engine.world.build_world`` makes it)."""
    return int(math.floor(scenario.duration_s / scenario.dt_s + 1e-9)) + 1


def _flight_time_s(scenario: Scenario, wave_index: int, catalog: Catalog) -> float:
    """Rough flight time of one threat of the wave: its path length over its mean speed."""
    wave = scenario.raid.waves[wave_index]
    threat = catalog.threats.get(wave.threat)
    if threat is None:
        return scenario.duration_s
    assets = {a.id: a for a in scenario.assets}
    aims = [(assets[t].lat_deg, assets[t].lon_deg) for t in (wave.targets or []) if t in assets]
    aims += [(p.lat_deg, p.lon_deg) for p in (wave.aim_points or [])]
    if not aims:
        return scenario.duration_s
    lengths = []
    for la, lo in aims:
        lats = np.array([wave.launch.lat_deg, *(p.lat_deg for p in wave.route), la])
        lons = np.array([wave.launch.lon_deg, *(p.lon_deg for p in wave.route), lo])
        lengths.append(float(np.sum(ground_distance_m(lats[:-1], lons[:-1], lats[1:],
                                                      lons[1:]))))
    speed = threat.speed_mps
    if threat.profile in _BALLISTIC_PROFILES:
        speed *= _BALLISTIC_MEAN_SPEED_FRACTION
    return float(np.mean(lengths)) / max(speed, 1.0)


def _in_flight_steps(scenario: Scenario, wave_index: int, catalog: Catalog) -> float:
    """Mean number of grid steps one threat of the wave spends in flight inside the run."""
    wave = scenario.raid.waves[wave_index]
    tof = _flight_time_s(scenario, wave_index, catalog)
    start, end = wave.launch_window_s
    launches = np.linspace(start, end, _WINDOW_SAMPLES) if end > start else np.array([start])
    inside = np.clip(launches + tof, 0.0, scenario.duration_s) - np.clip(launches, 0.0,
                                                                         scenario.duration_s)
    return float(np.mean(inside)) / scenario.dt_s


def estimate_run_size(scenario: Scenario, catalog: Catalog | None = None,
                      recorded: bool = True) -> RunEstimate:
    """Estimate the size of one run of a validated ``scenario``.

    ``recorded``: True for ``shieldwall run`` (tables and report), False for a Monte Carlo
    replication (summary only). Cheap (no trajectory is flown); the memory estimate is within
    ``ESTIMATE_FACTOR`` of the measured peak on the calibration runs.
    """
    catalog = load_catalog() if catalog is None else catalog
    steps = n_steps(scenario)
    threats = scenario.n_threats
    samples = 0.0
    for w, wave in enumerate(scenario.raid.waves):
        samples += wave.count * min(_in_flight_steps(scenario, w, catalog), float(steps))
    periods = [catalog.radars[x.radar].scan_period_s for x in scenario.sensors
               if x.radar in catalog.radars]
    periods += [catalog.radars[catalog.systems[b.system].radar].scan_period_s
                for b in scenario.batteries if b.system in catalog.systems]
    radars = len(periods)
    scans_per_sample = sum(scenario.dt_s / p for p in periods)
    per_sample = (BYTES_PER_SAMPLE_RECORDED + BYTES_PER_SAMPLE_SCAN_RECORDED * scans_per_sample
                  if recorded else BYTES_PER_SAMPLE_SCAN_UNRECORDED * scans_per_sample)
    base = BASE_BYTES if recorded else BASE_BYTES_UNRECORDED
    memory = base + BYTES_PER_THREAT_STEP * steps * threats + per_sample * samples
    wall = SECONDS_PER_STEP * steps + SECONDS_PER_SAMPLE_RADAR * samples * max(radars, 1)
    return RunEstimate(threats=threats, steps=steps, truth_samples=int(round(samples)),
                       radars=radars, recorded=recorded, memory_bytes=memory,
                       wall_time_s=wall)


def check_run_size(estimate: RunEstimate, file: str, max_memory_gb: float | None = None,
                   workers: int = 1, flag: str = "--max-memory-gb") -> None:
    """Raise ``InputError`` when ``workers`` concurrent runs of ``estimate`` would need more
    than ``max_memory_gb`` (default ``DEFAULT_MAX_MEMORY_GB``); the message gives the estimate
    and the flag that raises the limit."""
    limit = DEFAULT_MAX_MEMORY_GB if max_memory_gb is None else max_memory_gb
    if not (math.isfinite(limit) and limit > 0):
        raise InputError("<command line>", f"expected a positive number of GB, got {limit}",
                         field=flag)
    need = estimate.memory_gb * max(int(workers), 1)
    if need <= limit:
        return
    what = "the run" if workers <= 1 else f"{workers} replications at once (one per worker)"
    raise InputError(file, (
        f"too large to run: {estimate.describe()}; {what} would need ~{_gb(need)}, more than "
        f"the limit of {_gb(limit)}. Shorten duration_s, raise dt_s or reduce the threat "
        f"counts, or pass {flag} {math.ceil(need * 1.2)} to run it anyway"
        + ("" if workers <= 1 else " (or use fewer --workers)")))
