"""Reading and writing the files of ``shieldwall track`` (docs/formats.md §7).

The detections CSV (``read_detections_csv``), SENSOR.yaml (``load_sensor_config``) and the
tracks CSV (``write_tracks_csv``); the formats are described in
``shieldwall.tracking.standalone``, which holds the settings (``SensorConfig``), the table
types and the tracker runner without any file access. Bad input raises
``shieldwall.core.errors.InputError`` naming the file, the line and the field (exit 2 in the
CLI); the tracks CSV is written atomically through ``shieldwall.core.outputs``.
"""

from __future__ import annotations

import codecs
import csv
import math
from array import array
from pathlib import Path
from typing import Any

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
    # At least 1 mm: the polar measurement model is singular at the radar (1e-320 m made the
    # Jacobian's 1/r infinite and the UKF's covariance non-positive: fuzz finding 8).
    "range_m": (1e-3, 1e9, "a range in metres, at least 1e-3 and at most 1e9"),
    "azimuth_rad": (-2 * math.pi, 2 * math.pi, "an azimuth in radians within +-2 pi"),
    "elevation_rad": (-math.pi / 2, math.pi / 2, "an elevation in radians within +-pi/2"),
    "range_rate_mps": (-1e5, 1e5, "a range rate in m/s within +-1e5"),
}


#: Default cap on the rows of a detections CSV (``shieldwall track --max-detections``): 10^7
#: rows are ~0.5 GB of CSV and 400 MB parsed; past it the tracker would run for hours.
MAX_DETECTIONS = 10_000_000


def _count_lines(p: Path) -> int:
    """Lines of ``p`` (newlines, plus one for an unterminated last line), streamed."""
    n, last = 0, b"\n"
    with p.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _bad_utf8(p: Path) -> tuple[int, int]:
    """Line number and byte value of the first invalid UTF-8 in ``p`` (read a line at a time,
    so that the error names the line exactly without holding the file)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with p.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                decoder.decode(raw)
            except UnicodeDecodeError as err:
                return lineno, raw[err.start] if err.start < len(raw) else 0
    return 0, 0


def read_detections_csv(path: str | Path,
                        max_detections: int = MAX_DETECTIONS) -> DetectionTable:
    """Read and check a detections CSV; bad input raises ``InputError`` with the line.

    UTF-8 (a byte-order mark is accepted), one header naming each column once, every value a
    finite number within ``COLUMN_LIMITS``, rows sorted by time; blank lines are skipped. The
    file is streamed (held as 8 bytes per value, never as text or Python lists), and more
    than ``max_detections`` rows are refused (fuzz finding 7: a 1.7 GB file exhausted memory
    as Python lists).
    """
    p = Path(path)
    try:
        lines = _count_lines(p)
        handle = p.open("r", encoding="utf-8-sig", newline="")
    except OSError as err:
        raise InputError(str(p), f"cannot read the file ({err.strerror})") from None
    if lines > max_detections + 1:
        # Counted at ~1 GB/s before parsing at ~0.4 M rows/s: a huge file is refused in
        # about a second instead of after minutes.
        raise InputError(str(p), f"{lines:,} lines, more than {max_detections:,} detections "
                         "and the header; expected at most that many (raise it with "
                         "--max-detections)")
    with handle:
        try:
            return _read_rows(p, csv.reader(handle), max_detections)
        except UnicodeDecodeError:
            line, byte = _bad_utf8(p)
            raise InputError(str(p), f"not UTF-8 text (byte 0x{byte:02x}); expected a "
                             "UTF-8 CSV", line=line or None) from None
        except OSError as err:
            raise InputError(str(p), f"cannot read the file ({err.strerror})") from None


def _read_rows(p: Path, reader: Any, max_detections: int) -> DetectionTable:
    """The body of ``read_detections_csv`` over an open ``csv.reader``."""
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
        limits = [COLUMN_LIMITS[c] for c in cols]
        flat = array("d")
        n_rows = 0
        last_t = -math.inf
        for row in reader:
            lineno = reader.line_num
            if not row or all(not v.strip() for v in row):
                continue
            if len(row) != len(names):
                raise InputError(str(p), f"expected {len(names)} values, found {len(row)}",
                                 line=lineno)
            if n_rows >= max_detections:
                raise InputError(str(p), f"more than {max_detections:,} detections; expected "
                                 "at most that many (raise it with --max-detections)",
                                 line=lineno)
            for c, i, (low, high, what) in zip(cols, index, limits, strict=True):
                try:
                    v = float(row[i])
                except ValueError:
                    raise InputError(str(p), f"expected a number ({what}), found "
                                     f"{row[i][:40]!r}", field=c, line=lineno) from None
                if not math.isfinite(v):
                    raise InputError(str(p), f"expected a finite number ({what}), found "
                                     f"{row[i][:40]!r}", field=c, line=lineno)
                if c == "range_m" and v <= 0:
                    raise InputError(str(p), f"range must be > 0 (at least 1e-3 m), found "
                                     f"{row[i][:40]!r}", field=c, line=lineno)
                if not low <= v <= high:
                    raise InputError(str(p), f"expected {what}, found {row[i][:40]!r}",
                                     field=c, line=lineno)
                flat.append(v)
            t = flat[-len(cols)]
            if t < last_t:
                raise InputError(str(p), f"rows must be sorted by time: {t} after "
                                 f"{last_t}", field="time_s", line=lineno)
            last_t = t
            n_rows += 1
    except csv.Error as err:
        raise InputError(str(p), f"malformed CSV ({err})", line=reader.line_num) from None
    data = np.frombuffer(flat, dtype=np.float64).reshape(-1, len(cols)).copy()
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
