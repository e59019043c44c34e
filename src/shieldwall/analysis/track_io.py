"""Reading and writing the files of ``shieldwall track`` (docs/formats.md §7).

The detections CSV (``read_detections_csv``), SENSOR.yaml (``load_sensor_config``) and the
tracks CSV (``write_tracks_csv``); the formats are described in
``shieldwall.tracking.standalone``, which holds the settings (``SensorConfig``), the table
types and the tracker runner without any file access. Bad input raises
``shieldwall.core.errors.InputError`` naming the file, the line and the field (exit 2 in the
CLI); the tracks CSV is written atomically through ``shieldwall.core.outputs``.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from shieldwall.core.errors import InputError
from shieldwall.core.outputs import atomic_output_file
from shieldwall.scenario.io import _parse_yaml, line_of
from shieldwall.tracking.standalone import (
    ORDERED_LIMITS,
    DetectionTable,
    SensorConfig,
    TrackRun,
)

REQUIRED_COLUMNS = ("time_s", "range_m", "azimuth_rad", "elevation_rad")
OPTIONAL_COLUMNS = ("range_rate_mps",)
TRACK_COLUMNS = ("time_s", "track_id", "x_m", "y_m", "z_m", "vx_mps", "vy_mps", "vz_mps")


def load_sensor_config(path: str | Path | None) -> SensorConfig:
    """Read SENSOR.yaml (None: the defaults); bad input raises ``InputError`` naming the field
    and, where known, its line."""
    if path is None:
        return SensorConfig()
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise InputError(str(p), f"cannot read the file ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise InputError(str(p), f"not UTF-8 text (byte {err.start}); expected a UTF-8 YAML "
                         "file") from None
    doc, root = _parse_yaml(text, str(p))
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise InputError(str(p), "expected a mapping of sensor settings at the top level",
                         line=line_of(root, ()))
    try:
        return SensorConfig.model_validate(doc)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        message = f"{first['msg']} (got {first.get('input')!r})"
        if not loc:  # SensorConfig's ordered limits: name the setting the file gives
            message = str(first.get("ctx", {}).get("error", first["msg"]))
            for low, high in ORDERED_LIMITS:
                if message.startswith(f"{low} ("):
                    loc = (low,) if low in doc or high not in doc else (high,)
        field = ".".join(str(v) for v in loc)
        raise InputError(str(p), message, field=field or None,
                         line=line_of(root, loc) if loc else None) from None


#: Accepted magnitude of each column (beyond: a unit mistake or garbage; the tracker's
#: arithmetic must stay finite). 1e10 s is 317 years (Unix times fit) and keeps a resolution
#: of 2 microseconds; 1e9 m is 2.6 times the distance to the Moon.
COLUMN_LIMITS = {
    "time_s": (-1e10, 1e10, "a time in seconds within +-1e10"),
    "range_m": (0.0, 1e9, "a range in metres, > 0 and at most 1e9"),
    "azimuth_rad": (-2 * math.pi, 2 * math.pi, "an azimuth in radians within +-2 pi"),
    "elevation_rad": (-math.pi / 2, math.pi / 2, "an elevation in radians within +-pi/2"),
    "range_rate_mps": (-1e5, 1e5, "a range rate in m/s within +-1e5"),
}


def _decode(p: Path) -> str:
    """The file's text: UTF-8, a leading byte-order mark dropped (spreadsheets write one)."""
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise InputError(str(p), f"cannot read the file ({err.strerror})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise InputError(str(p), f"not UTF-8 text (byte 0x{raw[err.start]:02x}); expected a "
                         "UTF-8 CSV", line=line) from None


def read_detections_csv(path: str | Path) -> DetectionTable:
    """Read and check a detections CSV; bad input raises ``InputError`` with the line.

    UTF-8 (a byte-order mark is accepted), one header naming each column once, every value a
    finite number within ``COLUMN_LIMITS``, rows sorted by time; blank lines are skipped.
    """
    p = Path(path)
    text = _decode(p)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise InputError(str(p), "empty file: expected the header "
                             + ",".join(REQUIRED_COLUMNS), line=1)
        names = [h.strip() for h in header]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise InputError(str(p), f"column {name} appears twice in the header; expected "
                                 "each column once", field=name, line=1)
            seen.add(name)
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise InputError(str(p), f"missing column(s) {', '.join(missing)}; expected the "
                             f"header {','.join(REQUIRED_COLUMNS)}[,range_rate_mps]",
                             field=missing[0], line=1)
        unknown = [c for c in names if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
        if unknown:
            raise InputError(str(p), f"unknown column(s) {', '.join(unknown)}; allowed: "
                             f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}",
                             field=unknown[0], line=1)
        cols = list(REQUIRED_COLUMNS) + [c for c in OPTIONAL_COLUMNS if c in names]
        index = [names.index(c) for c in cols]
        rows: list[list[float]] = []
        for row in reader:
            lineno = reader.line_num
            if not row or all(not v.strip() for v in row):
                continue
            if len(row) != len(names):
                raise InputError(str(p), f"expected {len(names)} values, found {len(row)}",
                                 line=lineno)
            values = []
            for c, i in zip(cols, index, strict=True):
                low, high, what = COLUMN_LIMITS[c]
                try:
                    v = float(row[i])
                except ValueError:
                    raise InputError(str(p), f"expected a number ({what}), found "
                                     f"{row[i][:40]!r}", field=c, line=lineno) from None
                if not math.isfinite(v):
                    raise InputError(str(p), f"expected a finite number ({what}), found "
                                     f"{row[i]!r}", field=c, line=lineno)
                if c == "range_m" and v <= 0:
                    raise InputError(str(p), f"range must be > 0, found {row[i]!r}",
                                     field=c, line=lineno)
                if not low <= v <= high:
                    raise InputError(str(p), f"expected {what}, found {row[i]!r}", field=c,
                                     line=lineno)
                values.append(v)
            if rows and values[0] < rows[-1][0]:
                raise InputError(str(p), f"rows must be sorted by time: {values[0]} after "
                                 f"{rows[-1][0]}", field="time_s", line=lineno)
            rows.append(values)
    except csv.Error as err:
        raise InputError(str(p), f"malformed CSV ({err})", line=reader.line_num) from None
    data = np.array(rows, float).reshape(-1, len(cols))
    has_rr = "range_rate_mps" in cols
    return DetectionTable(time_s=data[:, 0], range_m=data[:, 1], azimuth_rad=data[:, 2],
                          elevation_rad=data[:, 3],
                          range_rate_mps=data[:, 4] if has_rr else np.full(len(data), np.nan),
                          has_range_rate=has_rr)


def write_tracks_csv(run: TrackRun, path: str | Path) -> None:
    """Write the tracks CSV atomically (a partial file is never left under ``path``).

    An existing regular file is replaced; a directory, a device, the empty path or a path
    under a file is refused with ``InputError`` (``shieldwall.core.outputs``); missing parent
    directories are created.
    """
    with atomic_output_file(path) as handle:
        handle.write(",".join(TRACK_COLUMNS) + "\n")
        data = np.column_stack([run.time_s, run.track_id, run.pos, run.vel])
        np.savetxt(handle, data, delimiter=",",
                   fmt=["%.6f", "%d", "%.3f", "%.3f", "%.3f", "%.4f", "%.4f", "%.4f"])
