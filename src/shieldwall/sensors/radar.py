"""Radar sites and the scan-by-scan detector: coverage, horizon, Pd, noise, false alarms.

One call of ``RadarDetector.detect`` is one scan of every target (the engine decides when a
radar is due from ``Radar.scan_period_s``). For each target, in array form:

1. Geometry in the site's local ENU frame (origin at the antenna phase centre, at
   ``alt_m + radar.antenna_height_m`` above the ellipsoid): range ``R = |p - o|``, azimuth
   ``atan2(e, n)`` in [0, 2 pi), elevation ``atan2(u, sqrt(e^2 + n^2))`` and range rate
   ``R_dot = (p - o) . v / R`` (the site is fixed in ECEF, so ECEF velocity is relative velocity).
2. Coverage: alive, ``min_range_m <= R <= radar.max_range_m``, elevation within
   ``[radar.min_elevation_rad, radar.max_elevation_rad]``, ``|wrap(az - heading)| <=
   sector_half_width_rad`` (``None``: all round), and a line of sight that clears the smooth
   earth with the effective-earth-radius (k = 4/3) refraction model (``geo.line_of_sight_clear``;
   a target at height ``h_t`` is visible from ``h_r`` out to ``~4.12 (sqrt(h_r) + sqrt(h_t))`` km).
3. Detection: mean SNR from the radar range equation (``detection.radar_snr``), one-look
   ``Pd = detection_probability(SNR, Pfa, swerling)``. The scan-to-scan RCS fluctuation of
   Swerling 1-4 targets is realised by drawing the detection as a Bernoulli trial with the
   fluctuation-averaged Pd (not by drawing an RCS sample): the marginal detection probability
   per scan is exact and independent from scan to scan, as Swerling 1/3 prescribe. The
   reported ``snr_db`` is therefore the mean SNR.
4. Measurement: ``z = (R, az, el, R_dot) + w``, ``w ~ N(0, diag(sigma_range_m^2,
   sigma_azimuth_rad^2, sigma_elevation_rad^2, sigma_range_rate_mps^2))`` with the catalog
   sigmas (not scaled with SNR); the noisy azimuth is wrapped to [0, 2 pi).
5. False alarms: ``Poisson(radar.false_alarms_per_scan)`` plots per scan, uniform in the
   measurement space of the covered volume (range uniform in ``[min_range_m, max_range_m]``,
   azimuth uniform in the sector, elevation uniform in the elevation limits, range rate uniform
   in ``+-false_alarm_max_range_rate_mps``). Noise false alarms occur with equal probability in
   every range-angle resolution cell, so uniform in (R, az, el) — not in Cartesian volume — is
   the physical distribution, and it is the constant clutter density trackers assume. Their
   ``truth_index`` is -1 and ``snr_db`` is the threshold-to-noise ratio ``10 log10(ln(1/Pfa))``.
6. The plots of a scan are returned in a random order, so the position of a plot in the batch
   says nothing about whether it is a false alarm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy import special

from shieldwall import geo
from shieldwall.catalog.types import Radar
from shieldwall.core.types import BoolArray, FloatArray, IntArray
from shieldwall.sensors.detection import (
    _NCX2_SF,
    _SNR_CAP,
    _SNR_CAP_MARCUM,
    BOLTZMANN_J_K,
    SPEED_OF_LIGHT_M_S,
    STANDARD_NOISE_TEMPERATURE_K,
    db_to_linear,
    detection_probability,
    detection_threshold,
    linear_to_db,
    radar_snr_for,
)
from shieldwall.sensors.detections import Detections
from shieldwall.sensors.site import install_site_frame

TWO_PI = 2.0 * np.pi


class Polar(NamedTuple):
    """Sensor-frame spherical coordinates of n points, each ``(n,)`` float64."""

    range_m: FloatArray
    azimuth_rad: FloatArray
    elevation_rad: FloatArray
    range_rate_mps: FloatArray


def wrap_two_pi(angle_rad: FloatArray) -> FloatArray:
    """Wrap angles to [0, 2 pi) (``np.mod`` can round tiny negatives up to exactly 2 pi)."""
    wrapped = np.mod(angle_rad, TWO_PI)
    return np.where(wrapped >= TWO_PI, 0.0, wrapped)


def wrap_pi(angle_rad: FloatArray) -> FloatArray:
    """Wrap angles to [-pi, pi)."""
    return np.mod(np.asarray(angle_rad, np.float64) + np.pi, TWO_PI) - np.pi


def ecef2polar(pos_ecef: FloatArray, vel_ecef: FloatArray, origin_ecef: FloatArray,
               rotation: FloatArray) -> Polar:
    """ECEF positions and velocities -> range, azimuth, elevation, range rate of a sensor frame.

    Parameters
    ----------
    pos_ecef, vel_ecef : (n, 3) ECEF position (m) and velocity (m/s)
    origin_ecef : (3,) ECEF of the sensor; rotation : (3, 3) ECEF -> ENU (``geo.enu_rotation``)

    Returns
    -------
    Polar of (n,) arrays: range (m), azimuth clockwise from north in [0, 2 pi), elevation
    (rad), range rate ``(p - o) . v / |p - o|`` (m/s; 0 at zero range).
    """
    relative = np.asarray(pos_ecef, np.float64) - origin_ecef
    range_m, azimuth_rad, elevation_rad = geo.enu2aer(relative @ rotation.T)
    dot = np.einsum("ij,ij->i", relative, np.asarray(vel_ecef, np.float64))
    range_rate = np.divide(dot, range_m, out=np.zeros_like(dot), where=range_m > 0)
    return Polar(range_m, wrap_two_pi(azimuth_rad), elevation_rad, range_rate)


def coverage_mask(range_m: FloatArray, azimuth_rad: FloatArray, elevation_rad: FloatArray,
                  min_range_m: float, max_range_m: float, min_elevation_rad: float,
                  max_elevation_rad: float, heading_rad: float,
                  sector_half_width_rad: float | None) -> BoolArray:
    """Whether points (all ``(n,)``) lie inside the range/elevation/azimuth-sector limits.

    The sector is ``|wrap_pi(az - heading)| <= half width``; ``None`` (or >= pi) is all round.
    Line of sight is not tested here (see ``RadarDetector.visible``).
    """
    inside = ((range_m >= min_range_m) & (range_m <= max_range_m)
              & (elevation_rad >= min_elevation_rad) & (elevation_rad <= max_elevation_rad))
    if sector_half_width_rad is not None and sector_half_width_rad < np.pi:
        inside &= np.abs(wrap_pi(azimuth_rad - heading_rad)) <= sector_half_width_rad
    return np.asarray(inside, np.bool_)


@njit(cache=True, error_model="numpy")
def _coverage_kernel(pos: FloatArray, alive: BoolArray, origin: FloatArray, rotation: FloatArray,
                     min_range_m: float, max_range_m: float, min_elevation_rad: float,
                     max_elevation_rad: float, heading_rad: float, half_width_rad: float,
                     horizon_alt_m: float, k: float, clearance_m: float
                     ) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:  # pragma: no cover
    """One pass over the targets: ENU geometry, coverage limits and line of sight.

    The compiled form of ``ecef2polar`` (without range rate) + ``coverage_mask`` +
    ``geo.line_of_sight_clear`` (tested against them); ``half_width_rad < 0`` is all round.
    The line of sight is evaluated only for alive targets inside the limits.
    """
    n = pos.shape[0]
    rng = np.empty(n)
    az = np.empty(n)
    el = np.empty(n)
    inside = np.zeros(n, np.bool_)
    two_pi = 2.0 * math.pi
    norm_s = math.sqrt(origin[0] ** 2 + origin[1] ** 2 + origin[2] ** 2)
    su0, su1, su2 = origin[0] / norm_s, origin[1] / norm_s, origin[2] / norm_s
    re = k * geo.EARTH_MEAN_RADIUS_M
    for i in range(n):
        r0 = pos[i, 0] - origin[0]
        r1 = pos[i, 1] - origin[1]
        r2 = pos[i, 2] - origin[2]
        e = rotation[0, 0] * r0 + rotation[0, 1] * r1 + rotation[0, 2] * r2
        nn = rotation[1, 0] * r0 + rotation[1, 1] * r1 + rotation[1, 2] * r2
        u = rotation[2, 0] * r0 + rotation[2, 1] * r1 + rotation[2, 2] * r2
        horizontal = math.hypot(e, nn)
        rng[i] = math.hypot(horizontal, u)
        a = math.atan2(e, nn) % two_pi
        az[i] = 0.0 if a >= two_pi else a
        el[i] = math.atan2(u, horizontal)
        if not alive[i]:
            continue
        if not (min_range_m <= rng[i] <= max_range_m
                and min_elevation_rad <= el[i] <= max_elevation_rad):
            continue
        if half_width_rad >= 0.0:
            off = (az[i] - heading_rad + math.pi) % two_pi - math.pi
            if abs(off) > half_width_rad:
                continue
        inside[i] = geo._los_clear_one(su0, su1, su2, re, re + horizon_alt_m, re + clearance_m,
                                       pos[i, 0], pos[i, 1], pos[i, 2])
    return rng, az, el, inside


class _ScanConstants(NamedTuple):
    """Per-radar factors of ``radar_snr`` and ``detection_probability``, computed once.

    ``radar_snr`` evaluates ``Pt G G lambda^2 sigma n_p / ((4 pi)^3 k T0 B F L R^4)`` left to
    right, so ``snr = (gain * sigma * pulses) / (noise * R**4)`` with the two scalar prefixes
    below performs the very same floating-point operations.
    """

    gain: float  # Pt G G lambda^2
    pulses: float  # n_p
    noise: float  # (4 pi)^3 k T0 B F L
    pfa: float
    threshold: float  # detection_threshold(pfa, 1)
    log_threshold: float  # -ln(pfa), the Swerling 3 threshold
    marcum_fast: bool  # the compiled ncx2 survival function applies (0 < T < inf)

    @staticmethod
    def of(radar: Radar) -> _ScanConstants:
        wavelength_m = SPEED_OF_LIGHT_M_S / np.asarray(radar.frequency_hz, np.float64)
        g = db_to_linear(radar.antenna_gain_db)
        gain = np.asarray(radar.peak_power_w, np.float64) * g * g * wavelength_m**2
        noise = (BOLTZMANN_J_K * STANDARD_NOISE_TEMPERATURE_K
                 * np.asarray(radar.bandwidth_hz, np.float64)
                 * db_to_linear(radar.noise_figure_db) * db_to_linear(radar.losses_db))
        pfa = np.asarray(radar.pfa, np.float64)
        threshold = float(detection_threshold(pfa, np.asarray(1, np.float64)))
        return _ScanConstants(
            gain=float(gain), pulses=float(np.asarray(radar.pulses_integrated, np.float64)),
            noise=float((4.0 * np.pi) ** 3 * noise), pfa=float(pfa), threshold=threshold,
            log_threshold=float(-np.log(pfa)),
            marcum_fast=bool(_NCX2_SF is not None and 0.0 < 2.0 * threshold < np.inf))

    def snr(self, rcs_m2: FloatArray, range_m: FloatArray) -> FloatArray:
        """``radar_snr_for(radar, rcs_m2, range_m)``, bit for bit."""
        return (self.gain * rcs_m2 * self.pulses) / (self.noise * range_m**4)

    def pd(self, snr: FloatArray, swerling: IntArray) -> FloatArray:
        """``detection_probability(snr, pfa, swerling)`` (one look), bit for bit."""
        if not self.marcum_fast or np.any((swerling < 0) | (swerling > 4)):
            return detection_probability(snr, self.pfa, swerling)
        pd = np.empty(snr.shape, np.float64)
        mask = swerling == 0
        if mask.any():
            nc = 2.0 * np.clip(snr[mask], 0.0, _SNR_CAP_MARCUM)
            with np.errstate(over="ignore"):
                out = _NCX2_SF(2.0 * self.threshold, 2.0, nc)
            zero = nc == 0
            if zero.any():
                out = np.where(zero, special.chdtrc(2.0, 2.0 * self.threshold), out)
            pd[mask] = out
        mask = (swerling == 1) | (swerling == 2)
        if mask.any():
            s = np.clip(snr[mask], 0.0, _SNR_CAP)
            pd[mask] = np.power(self.pfa, 1.0 / (1.0 + s))
        mask = swerling >= 3
        if mask.any():
            s = np.clip(snr[mask], 0.0, _SNR_CAP)
            t = self.log_threshold
            pd[mask] = np.exp(-2.0 * t / (2.0 + s)) * (1.0 + 2.0 * t * s / (2.0 + s) ** 2)
        return pd


@dataclass(frozen=True)
class RadarSite:
    """A radar on the ground: its catalog record, where it stands and where it looks.

    Attributes
    ----------
    sensor_id : int, unique among the scenario's sensors (goes into ``Detections.sensor_id``)
    name : str, label for logs and reports
    radar : the catalog ``Radar`` record
    lat_deg, lon_deg : WGS84 geodetic position of the site, degrees
    alt_m : ground height of the site above the ellipsoid, m (the antenna is
        ``radar.antenna_height_m`` higher)
    heading_rad : centre of the azimuth sector, clockwise from north, rad
    origin_ecef : (3,) computed: ECEF of the antenna (read-only)
    rotation : (3, 3) computed: ECEF -> local ENU rotation at the site (read-only)
    """

    sensor_id: int
    name: str
    radar: Radar
    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    heading_rad: float = 0.0
    origin_ecef: FloatArray = field(init=False, repr=False, compare=False)
    rotation: FloatArray = field(init=False, repr=False, compare=False)
    horizon_alt_m: float = field(init=False, repr=False, compare=False)
    _kernel: _ScanConstants = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        install_site_frame(self, self.lat_deg, self.lon_deg,
                           self.alt_m + self.radar.antenna_height_m)
        object.__setattr__(self, "_kernel", _ScanConstants.of(self.radar))

    @property
    def antenna_alt_m(self) -> float:
        """Height of the antenna above the ellipsoid, m."""
        return float(self.alt_m + self.radar.antenna_height_m)


@dataclass(frozen=True)
class RadarDetector:
    """Detection and measurement model of one radar site (see the module docstring).

    Attributes
    ----------
    site : the ``RadarSite``
    min_range_m : blind range (eclipsing by the transmitted pulse), m; also the lower range
        limit of false alarms
    false_alarm_max_range_rate_mps : false-alarm range rates are uniform in +- this, m/s
    refraction_k : effective earth radius factor of the line-of-sight test
    terrain_clearance_m : the ray must clear the smooth earth by this height, m
    """

    site: RadarSite
    min_range_m: float = 1000.0
    false_alarm_max_range_rate_mps: float = 500.0
    refraction_k: float = geo.STANDARD_REFRACTION_K
    terrain_clearance_m: float = 0.0
    #: Radar plots carry range and range rate: the trackers fuse them.
    measures_range: bool = field(default=True, init=False)

    @property
    def scan_period_s(self) -> float:
        """Revisit of the radar, s (``Radar.scan_period_s``)."""
        return float(self.site.radar.scan_period_s)

    def polar(self, pos_ecef: FloatArray, vel_ecef: FloatArray) -> Polar:
        """True range, azimuth, elevation and range rate of targets ``(n, 3)`` (no noise)."""
        return ecef2polar(_as_points(pos_ecef), _as_points(vel_ecef), self.site.origin_ecef,
                          self.site.rotation)

    def visible(self, pos_ecef: FloatArray) -> BoolArray:
        """Whether targets ``(n, 3)`` are inside coverage and above the radar horizon, ``(n,)``."""
        pos = _as_points(pos_ecef)
        return self._covered(pos, np.ones(pos.shape[0], np.bool_))[3]

    def _covered(self, pos: FloatArray, alive: BoolArray
                 ) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
        """(range, azimuth, elevation, alive & inside limits & line of sight clear)."""
        site, radar = self.site, self.site.radar
        half = radar.sector_half_width_rad
        half_width = -1.0 if half is None or half >= np.pi else float(half)
        return _coverage_kernel(np.ascontiguousarray(pos), np.ascontiguousarray(alive),
                                site.origin_ecef, site.rotation, float(self.min_range_m),
                                float(radar.max_range_m), float(radar.min_elevation_rad),
                                float(radar.max_elevation_rad), float(site.heading_rad),
                                half_width, site.horizon_alt_m, float(self.refraction_k),
                                float(self.terrain_clearance_m))

    def detection_probability(self, pos_ecef: FloatArray, rcs_m2: FloatArray,
                              swerling: IntArray) -> FloatArray:
        """Per-scan Pd of targets ``(n, 3)`` with mean RCS (n,) m^2; 0 where not visible."""
        pos = _as_points(pos_ecef)
        pd = np.zeros(pos.shape[0])
        visible = self.visible(pos)
        if np.any(visible):
            range_m = np.linalg.norm(pos[visible] - self.site.origin_ecef, axis=1)
            snr = radar_snr_for(self.site.radar, np.broadcast_to(rcs_m2, pd.shape)[visible],
                                range_m)
            pd[visible] = detection_probability(snr, self.site.radar.pfa,
                                                np.broadcast_to(swerling, pd.shape)[visible])
        return pd

    def detect(self, pos_ecef: FloatArray, vel_ecef: FloatArray, rcs_m2: FloatArray,
               swerling: IntArray, alive: BoolArray, time_s: float,
               rng: np.random.Generator) -> Detections:
        """One scan of all targets.

        Parameters
        ----------
        pos_ecef, vel_ecef : (n, 3) ECEF truth position (m) and velocity (m/s)
        rcs_m2 : (n,) mean radar cross-section, m^2
        swerling : (n,) int Swerling case 0..4
        alive : (n,) bool; targets not alive (not launched, ended, killed) are never detected
        time_s : scan time, s
        rng : the generator of this radar's random stream

        Returns
        -------
        Detections of the scan (target plots and false alarms, in random order).
        """
        site, radar = self.site, self.site.radar
        pos = _as_points(pos_ecef)
        vel = _as_points(vel_ecef)
        n = pos.shape[0]
        rcs = np.broadcast_to(np.asarray(rcs_m2, np.float64), (n,))
        cases = np.broadcast_to(np.asarray(swerling, np.int64), (n,))
        alive_b = np.broadcast_to(np.asarray(alive, np.bool_), (n,))

        range_m, azimuth_rad, elevation_rad, covered = self._covered(pos, alive_b)
        index = np.flatnonzero(covered)
        snr = site._kernel.snr(rcs[index], range_m[index])
        pd = site._kernel.pd(snr, cases[index])
        hit = rng.random(index.size) < pd
        index, snr = index[hit], snr[hit]

        m = index.size
        noise = rng.standard_normal((4, m))
        # Range rate of the detected targets only (``ecef2polar``'s formula, row by row).
        range_d = range_m[index]
        dot = np.einsum("ij,ij->i", pos[index] - site.origin_ecef, vel[index])
        range_rate = np.divide(dot, range_d, out=np.zeros_like(dot), where=range_d > 0)
        measured = Polar(
            range_d + radar.sigma_range_m * noise[0],
            wrap_two_pi(azimuth_rad[index] + radar.sigma_azimuth_rad * noise[1]),
            elevation_rad[index] + radar.sigma_elevation_rad * noise[2],
            range_rate + radar.sigma_range_rate_mps * noise[3],
        )
        clutter = self.false_alarms(rng)
        k = clutter.range_m.size
        order = rng.permutation(m + k)
        threshold_db = float(linear_to_db(np.log(1.0 / radar.pfa)))
        return Detections(
            time_s=np.full(m + k, float(time_s)),
            sensor_id=np.full(m + k, site.sensor_id, np.int64),
            range_m=np.concatenate([measured.range_m, clutter.range_m])[order],
            azimuth_rad=np.concatenate([measured.azimuth_rad, clutter.azimuth_rad])[order],
            elevation_rad=np.concatenate([measured.elevation_rad,
                                          clutter.elevation_rad])[order],
            range_rate_mps=np.concatenate([measured.range_rate_mps,
                                           clutter.range_rate_mps])[order],
            snr_db=np.concatenate([linear_to_db(snr), np.full(k, threshold_db)])[order],
            truth_index=np.concatenate([index.astype(np.int64),
                                        np.full(k, -1, np.int64)])[order],
        )

    def false_alarms(self, rng: np.random.Generator) -> Polar:
        """Draw one scan's false alarms: Poisson count, uniform in measurement space."""
        radar = self.site.radar
        count = int(rng.poisson(radar.false_alarms_per_scan))
        half = radar.sector_half_width_rad
        if half is None or half >= np.pi:
            azimuth = rng.uniform(0.0, TWO_PI, count)
        else:
            azimuth = self.site.heading_rad + rng.uniform(-half, half, count)
        return Polar(
            rng.uniform(self.min_range_m, radar.max_range_m, count),
            wrap_two_pi(azimuth),
            rng.uniform(radar.min_elevation_rad, radar.max_elevation_rad, count),
            rng.uniform(-self.false_alarm_max_range_rate_mps,
                        self.false_alarm_max_range_rate_mps, count),
        )


def _as_points(array: FloatArray) -> FloatArray:
    return np.asarray(array, np.float64).reshape(-1, 3)
