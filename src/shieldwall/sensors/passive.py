"""A passive angle-only sensor: infrared search and track (IRST), the ``irst`` sensor kind.

One call of ``IrstDetector.detect`` is one panoramic scan of every target. The model and its
assumptions:

1. Geometry and coverage exactly as the radar's (``sensors.radar``): ENU frame of the sensor
   head (``alt_m + antenna_height_m``), range/elevation/sector limits (``max_range_m`` is the
   processing range) and a line of sight clearing the 4/3-earth smooth earth. Infrared
   refraction is close to optical, for which k = 4/3 is also the standard value.
2. Signal: an unresolved target is a point source of radiant intensity ``I`` (W/sr); the
   irradiance at the aperture is ``E = I tau(R) / R^2`` with Beer-Lambert atmospheric
   transmission ``tau = exp(-alpha R)`` (``alpha`` = ``extinction_per_m``, one broadband
   coefficient). With noise-equivalent irradiance ``NEI`` the signal-to-noise ratio is
   ``SNR = E / NEI``. The catalog quotes no ``I`` or ``NEI`` -- only a detection range -- so the
   model is calibrated on it: ``SNR(R) = SNR_ref (R_ref / R)^2 exp(-alpha (R - R_ref))``.
   **Every target is taken as the reference target** (the role's inputs carry radar cross
   sections, not infrared signatures): the Pd depends on range only.
3. Detection: a constant signal in additive Gaussian noise against the threshold-to-noise ratio
   ``TNR = Q^-1(pfa)`` per resolution cell, ``Pd = Q(TNR - SNR)`` (``Q`` the standard normal
   survival function), drawn independently each scan. ``SNR_ref = TNR - Q^-1(reference_pd)`` so
   that ``Pd(reference_range_m) = reference_pd`` exactly.
4. Measurement: ``(az, el) + w``, ``w ~ N(0, diag(sigma_azimuth_rad^2,
   sigma_elevation_rad^2))``, azimuth wrapped to [0, 2 pi). **Range and range rate are not
   measured: NaN.** ``snr_db`` is ``10 log10(SNR)`` (of the amplitude ratio ``E / NEI``).
5. False alarms: ``Poisson(false_alarms_per_scan)`` per scan, uniform in azimuth over the
   sector and in elevation over the limits (``snr_db`` = ``10 log10(TNR)``, ``truth_index``
   -1), and the plots of a scan in random order, as the radar's.

Fusion: angle-only plots do not fix a 3-D position, so the engine's trackers (which take
range, azimuth, elevation and range rate) do not fuse them (``measures_range`` is False): they
are recorded in the detections table and counted; see ``docs/architecture.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

from shieldwall import geo
from shieldwall.catalog.types import PassiveSensor
from shieldwall.core.types import BoolArray, FloatArray, IntArray
from shieldwall.sensors.detections import Detections
from shieldwall.sensors.radar import _as_points, _coverage_kernel, wrap_two_pi
from shieldwall.sensors.site import install_site_frame

#: Closest range (m) the model evaluates (the point-source law diverges at zero range).
MIN_RANGE_M = 10.0


def q_inverse(p: FloatArray | float) -> FloatArray:
    """``Q^-1(p)``: the x with standard normal survival ``Q(x) = p``."""
    return np.sqrt(2.0) * special.erfcinv(2.0 * np.asarray(p, np.float64))


def gaussian_pd(snr: FloatArray | float, tnr: float) -> FloatArray:
    """``Q(tnr - snr)``: detection probability of a constant signal in Gaussian noise."""
    return 0.5 * special.erfc((tnr - np.asarray(snr, np.float64)) / np.sqrt(2.0))


@dataclass(frozen=True)
class IrstSite:
    """An IRST head on the ground: its catalog record, where it stands and where it looks.

    Attributes as ``sensors.RadarSite`` (``sensor`` is the ``catalog.types.PassiveSensor``);
    the angle sigmas are exposed for a tracker frame, and ``sigma_range_m`` is NaN (no range).
    """

    sensor_id: int
    name: str
    sensor: PassiveSensor
    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    heading_rad: float = 0.0
    origin_ecef: FloatArray = field(init=False, repr=False, compare=False)
    rotation: FloatArray = field(init=False, repr=False, compare=False)
    horizon_alt_m: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        install_site_frame(self, self.lat_deg, self.lon_deg,
                           self.alt_m + self.sensor.antenna_height_m)

    @property
    def sigma_azimuth_rad(self) -> float:
        return float(self.sensor.sigma_azimuth_rad)

    @property
    def sigma_elevation_rad(self) -> float:
        return float(self.sensor.sigma_elevation_rad)

    @property
    def sigma_range_m(self) -> float:
        return float("nan")


@dataclass(frozen=True)
class IrstDetector:
    """Detection and angle measurement model of one IRST site (see the module docstring).

    Attributes
    ----------
    site : the ``IrstSite``
    refraction_k : effective earth radius factor of the line-of-sight test
    terrain_clearance_m : the ray must clear the smooth earth by this height, m
    """

    site: IrstSite
    refraction_k: float = geo.STANDARD_REFRACTION_K
    terrain_clearance_m: float = 0.0
    #: Angle-only: the trackers do not fuse these plots.
    measures_range: bool = field(default=False, init=False)

    @property
    def scan_period_s(self) -> float:
        return float(self.site.sensor.scan_period_s)

    @property
    def threshold(self) -> float:
        """Threshold-to-noise ratio ``Q^-1(pfa)``."""
        return float(q_inverse(self.site.sensor.pfa))

    @property
    def reference_snr(self) -> float:
        """SNR of the reference target at ``reference_range_m``."""
        s = self.site.sensor
        return float(self.threshold - q_inverse(s.reference_pd))

    def snr(self, range_m: FloatArray) -> FloatArray:
        """``SNR(R)`` of the reference target at ranges ``range_m`` (m)."""
        s = self.site.sensor
        r = np.maximum(np.asarray(range_m, np.float64), MIN_RANGE_M)
        return (self.reference_snr * (s.reference_range_m / r) ** 2
                * np.exp(-s.extinction_per_m * (r - s.reference_range_m)))

    def _covered(self, pos: FloatArray, alive: BoolArray
                 ) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
        site, s = self.site, self.site.sensor
        half = s.sector_half_width_rad
        half_width = -1.0 if half is None or half >= np.pi else float(half)
        return _coverage_kernel(np.ascontiguousarray(pos), np.ascontiguousarray(alive),
                                site.origin_ecef, site.rotation, MIN_RANGE_M,
                                float(s.max_range_m), float(s.min_elevation_rad),
                                float(s.max_elevation_rad), float(site.heading_rad),
                                half_width, site.horizon_alt_m, float(self.refraction_k),
                                float(self.terrain_clearance_m))

    def visible(self, pos_ecef: FloatArray) -> BoolArray:
        """Whether targets ``(n, 3)`` are inside coverage and in line of sight, ``(n,)``."""
        pos = _as_points(pos_ecef)
        return self._covered(pos, np.ones(pos.shape[0], np.bool_))[3]

    def detection_probability(self, pos_ecef: FloatArray) -> FloatArray:
        """Per-scan Pd of targets ``(n, 3)``; 0 where not visible."""
        pos = _as_points(pos_ecef)
        rng_m, _, _, vis = self._covered(pos, np.ones(pos.shape[0], np.bool_))
        pd = np.zeros(pos.shape[0])
        pd[vis] = gaussian_pd(self.snr(rng_m[vis]), self.threshold)
        return pd

    def detect(self, pos_ecef: FloatArray, vel_ecef: FloatArray, rcs_m2: FloatArray,
               swerling: IntArray, alive: BoolArray, time_s: float,
               rng: np.random.Generator) -> Detections:
        """One scan of all targets (``rcs_m2`` and ``swerling`` are not used: every target is
        the reference target); angle-only ``Detections`` (range, range rate NaN)."""
        s = self.site.sensor
        pos = _as_points(pos_ecef)
        n = pos.shape[0]
        alive_b = np.broadcast_to(np.asarray(alive, np.bool_), (n,))
        range_m, az, el, covered = self._covered(pos, alive_b)
        index = np.flatnonzero(covered)
        snr = self.snr(range_m[index])
        hit = rng.random(index.size) < gaussian_pd(snr, self.threshold)
        index, snr = index[hit], snr[hit]
        m = index.size
        noise = rng.standard_normal((2, m))
        az_m = wrap_two_pi(az[index] + s.sigma_azimuth_rad * noise[0])
        el_m = el[index] + s.sigma_elevation_rad * noise[1]
        k = int(rng.poisson(s.false_alarms_per_scan)) if s.false_alarms_per_scan > 0 else 0
        half = s.sector_half_width_rad
        if half is None or half >= np.pi:
            az_fa = rng.uniform(0.0, 2.0 * np.pi, k)
        else:
            az_fa = self.site.heading_rad + rng.uniform(-half, half, k)
        az_fa = wrap_two_pi(az_fa)
        el_fa = rng.uniform(s.min_elevation_rad, s.max_elevation_rad, k)
        order = rng.permutation(m + k)
        nan = np.full(m + k, np.nan)
        snr_db = np.concatenate([10.0 * np.log10(snr), np.full(k, 10.0 * np.log10(
            max(self.threshold, 1e-12)))])
        return Detections(
            time_s=np.full(m + k, float(time_s)),
            sensor_id=np.full(m + k, self.site.sensor_id, np.int64),
            range_m=nan, azimuth_rad=np.concatenate([az_m, az_fa])[order],
            elevation_rad=np.concatenate([el_m, el_fa])[order], range_rate_mps=nan.copy(),
            snr_db=snr_db[order],
            truth_index=np.concatenate([index.astype(np.int64),
                                        np.full(k, -1, np.int64)])[order])
