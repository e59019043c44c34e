"""Radar detection and measurement models (docs/internals.md, sensors).

``RadarSite`` places a catalog ``Radar``; ``RadarDetector(site).detect(...)`` performs one scan
of all targets and returns ``Detections``. The kernels (range equation, Pd by Swerling case)
are plain array functions in ``shieldwall.sensors.detection``.
"""

from shieldwall.sensors.detection import (
    db_to_linear,
    detection_probability,
    detection_range_m,
    detection_threshold,
    linear_to_db,
    pd_swerling0,
    pd_swerling1,
    pd_swerling2,
    pd_swerling3,
    radar_snr,
    radar_snr_for,
    required_snr,
    snr_db,
)
from shieldwall.sensors.detections import Detections
from shieldwall.sensors.radar import (
    Polar,
    RadarDetector,
    RadarSite,
    coverage_mask,
    ecef2polar,
    wrap_pi,
    wrap_two_pi,
)

__all__ = [
    "Detections",
    "Polar",
    "RadarDetector",
    "RadarSite",
    "coverage_mask",
    "db_to_linear",
    "detection_probability",
    "detection_range_m",
    "detection_threshold",
    "ecef2polar",
    "linear_to_db",
    "pd_swerling0",
    "pd_swerling1",
    "pd_swerling2",
    "pd_swerling3",
    "radar_snr",
    "radar_snr_for",
    "required_snr",
    "snr_db",
    "wrap_pi",
    "wrap_two_pi",
]
