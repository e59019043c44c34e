"""Multi-target tracking: EKF + GNN + M-of-N track management over several radars.

Layering: imports only ``core``, ``geo`` and ``catalog``. Sensors are described structurally
(``SensorFrameLike``, ``DetectionBatch``) so ``sensors.RadarSite`` and ``sensors.Detections``
fit without an import.
"""

from shieldwall.tracking.classify import KinematicClassifier, class_estimate
from shieldwall.tracking.kernels import (
    approx_altitude_m,
    ekf_update_joseph,
    gate_pairs,
    gnn_assign,
    gnn_assign_pairs,
    gravity_acceleration,
    innovation_covariance,
    mahalanobis_pairs,
    polar_innovations,
    polar_to_state,
    predict_kernel,
    radar_measurement,
    white_noise_acceleration_q,
    wrap_angle,
)
from shieldwall.tracking.table import CONFIRMED, FREE, TENTATIVE, MotionModel, TrackTable
from shieldwall.tracking.tracker import (
    DetectionBatch,
    SensorFrame,
    SensorFrameLike,
    Tracker,
    TrackerOutput,
    UpdateLog,
)

__all__ = [
    "CONFIRMED",
    "FREE",
    "TENTATIVE",
    "DetectionBatch",
    "KinematicClassifier",
    "MotionModel",
    "SensorFrame",
    "SensorFrameLike",
    "TrackTable",
    "Tracker",
    "TrackerOutput",
    "UpdateLog",
    "approx_altitude_m",
    "class_estimate",
    "ekf_update_joseph",
    "gate_pairs",
    "gnn_assign",
    "gnn_assign_pairs",
    "gravity_acceleration",
    "innovation_covariance",
    "mahalanobis_pairs",
    "polar_innovations",
    "polar_to_state",
    "predict_kernel",
    "radar_measurement",
    "white_noise_acceleration_q",
    "wrap_angle",
]
