"""``Detections``: one batch of radar plots (structure of arrays)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from shieldwall.core.types import BoolArray, FloatArray, IntArray

_FLOAT_FIELDS = ("time_s", "range_m", "azimuth_rad", "elevation_rad", "range_rate_mps", "snr_db")
_INT_FIELDS = ("sensor_id", "truth_index")


@dataclass
class Detections:
    """Radar detections, every field an array of the same length ``m``.

    Attributes
    ----------
    time_s : (m,) float64, scan time, s from scenario start
    sensor_id : (m,) int64, ``RadarSite.sensor_id`` of the reporting radar
    range_m : (m,) float64, measured slant range, m
    azimuth_rad : (m,) float64, measured azimuth clockwise from north in the sensor's local
        ENU frame, ``atan2(east, north)`` wrapped to [0, 2 pi)
    elevation_rad : (m,) float64, measured elevation above the local horizontal plane
    range_rate_mps : (m,) float64, measured range rate (> 0: receding), m/s
    snr_db : (m,) float64, mean SNR of the target at this scan from the range equation, dB;
        for a false alarm the threshold-to-noise ratio ``10 log10(ln(1/Pfa))``
    truth_index : (m,) int64, index of the threat that produced the plot, -1 for a false
        alarm. Evaluation and logging only: the tracker and battle manager never read it.
    """

    time_s: FloatArray
    sensor_id: IntArray
    range_m: FloatArray
    azimuth_rad: FloatArray
    elevation_rad: FloatArray
    range_rate_mps: FloatArray
    snr_db: FloatArray
    truth_index: IntArray

    def __post_init__(self) -> None:
        for name in _FLOAT_FIELDS:
            setattr(self, name, np.asarray(getattr(self, name), np.float64).reshape(-1))
        for name in _INT_FIELDS:
            setattr(self, name, np.asarray(getattr(self, name), np.int64).reshape(-1))
        lengths = {len(getattr(self, f.name)) for f in fields(self)}
        if len(lengths) > 1:
            raise ValueError(f"Detections fields have different lengths: {sorted(lengths)}")

    def __len__(self) -> int:
        return int(self.range_m.shape[0])

    @classmethod
    def empty(cls) -> Detections:
        """A batch with no detections."""
        zero_f = np.zeros(0, np.float64)
        zero_i = np.zeros(0, np.int64)
        return cls(time_s=zero_f, sensor_id=zero_i, range_m=zero_f, azimuth_rad=zero_f,
                   elevation_rad=zero_f, range_rate_mps=zero_f, snr_db=zero_f,
                   truth_index=zero_i)

    @classmethod
    def concat(cls, batches: Sequence[Detections]) -> Detections:
        """Concatenate batches in order (an empty sequence gives ``empty()``)."""
        if len(batches) == 0:
            return cls.empty()
        return cls(**{f.name: np.concatenate([getattr(b, f.name) for b in batches])
                      for f in fields(cls)})

    def select(self, mask: BoolArray | IntArray) -> Detections:
        """The detections selected by a boolean mask ``(m,)`` or an index array."""
        return Detections(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})
