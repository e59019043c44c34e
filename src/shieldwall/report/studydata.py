"""Reading Monte Carlo study and sweep directories for the report, and their statistics.

Reads the files only (``shieldwall.analysis`` writes them; the report never imports it):

* a study directory: ``replications.parquet/`` (a parquet dataset of part files; names
  starting with ``.`` or ``_`` are unfinished or metadata and are skipped, as every parquet
  dataset reader does), ``study.json``, ``summary.json`` and ``scenario.json`` (all optional:
  the header falls back on the ``seed`` and ``scenario_hash`` columns, the map on a list);
* a sweep directory: ``sweep.json`` (axes and points), ``sweep.parquet`` (every replication
  row with a ``point`` column) and ``points/point-NNNN/`` study directories.

Every estimate is recomputed from the replication rows:

* a mean with the Student-t interval ``mean +- t_{n-1, 0.975} s / sqrt(n)`` (``s`` with
  ``n - 1`` degrees of freedom) over the finite samples; no interval when ``n < 2``;
* a proportion ``k / n`` with the Wilson score interval (``scipy.stats.binomtest``), exactly 0
  or 1 at ``k = 0`` or ``k = n``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shieldwall.core.errors import InputError
from shieldwall.core.types import FloatArray

REPLICATIONS_DIR = "replications.parquet"
STUDY_FILE = "study.json"
SUMMARY_FILE = "summary.json"
SCENARIO_FILE = "scenario.json"
#: The laydown resolved against the study's catalog (the form of a run's scenario.json).
RESOLVED_SCENARIO_FILE = "resolved_scenario.json"
SWEEP_FILE = "sweep.json"
SWEEP_TABLE = "sweep.parquet"
CONFIDENCE = 0.95
#: Convergence curves keep every N up to this many replications, then a log/linear subset.
MAX_CONVERGENCE_POINTS = 1000
#: Empirical CDFs keep every distinct value up to this many, then quantile points.
MAX_ECDF_POINTS = 2000
#: Scatter plots show at most this many replications (the first ones, in replication order).
MAX_SCATTER_POINTS = 5000
MAX_HISTOGRAM_BINS = 60


# ------------------------------------------------------------------------------ estimates
@dataclass(frozen=True)
class MeanCI:
    """Mean of the finite samples with its t-interval (None bounds when ``n < 2``)."""

    n: int
    mean: float | None
    std: float | None
    lower: float | None
    upper: float | None
    n_undefined: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "std": self.std, "lower": self.lower,
                "upper": self.upper, "n_undefined": self.n_undefined}


@dataclass(frozen=True)
class ProportionCI:
    """``successes / n`` with its Wilson interval (None when ``n == 0``)."""

    n: int
    successes: int
    estimate: float | None
    lower: float | None
    upper: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "successes": self.successes, "estimate": self.estimate,
                "lower": self.lower, "upper": self.upper}


def _opt(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def mean_ci(samples: Any, confidence: float = CONFIDENCE) -> MeanCI:
    """Mean and Student-t interval of the finite values of ``samples`` (NaN, None dropped)."""
    from scipy import stats as sps

    x = np.asarray(samples, dtype=float).ravel()
    finite = x[np.isfinite(x)]
    n = int(finite.size)
    if n == 0:
        return MeanCI(0, None, None, None, None, int(x.size))
    mean = float(finite.mean())
    if n < 2:
        return MeanCI(1, mean, None, None, None, int(x.size - n))
    std = float(finite.std(ddof=1))
    half = float(sps.t.ppf(0.5 + confidence / 2.0, n - 1)) * std / math.sqrt(n)
    return MeanCI(n, mean, std, mean - half, mean + half, int(x.size - n))


def proportion_ci(successes: int, n: int, confidence: float = CONFIDENCE) -> ProportionCI:
    """``successes / n`` with the Wilson score interval (``scipy.stats.binomtest``)."""
    from scipy import stats as sps

    k, n = int(successes), int(n)
    if n <= 0:
        return ProportionCI(0, 0, None, None, None)
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    lower = 0.0 if k == 0 else float(np.clip(ci.low, 0.0, 1.0))
    upper = 1.0 if k == n else float(np.clip(ci.high, 0.0, 1.0))
    return ProportionCI(n, k, k / n, lower, upper)


def wilson_bounds(successes: FloatArray, n: FloatArray,
                  confidence: float = CONFIDENCE) -> tuple[FloatArray, FloatArray]:
    """Vectorized Wilson score bounds (the same interval as ``proportion_ci``)::

        centre = (p + z^2 / 2n) / (1 + z^2 / n),  half = z / (1 + z^2 / n) sqrt(p (1 - p) / n
        + z^2 / 4n^2)
    """
    from scipy import stats as sps

    k = np.asarray(successes, float)
    m = np.asarray(n, float)
    z = float(sps.norm.ppf(0.5 + confidence / 2.0))
    p = k / m
    denom = 1.0 + z * z / m
    centre = (p + z * z / (2.0 * m)) / denom
    half = z / denom * np.sqrt(p * (1.0 - p) / m + z * z / (4.0 * m * m))
    lower = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    upper = np.where(k == m, 1.0, np.clip(centre + half, 0.0, 1.0))
    return lower, upper


# ------------------------------------------------------------------------------ reading
def read_json(path: Path, required: bool) -> dict[str, Any]:
    """A JSON object from ``path``; {} when it is absent and not ``required``."""
    if not path.exists():
        if required:
            raise InputError(str(path), "file not found")
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError, MemoryError) as err:
        raise InputError(str(path), f"cannot read it as JSON ({err})") from None
    if not isinstance(doc, dict):
        raise InputError(str(path), "expected a JSON object at the top level")
    return doc


def read_dataset(directory: Path) -> pa.Table:
    """Every finished part file of a parquet dataset directory, concatenated.

    Parts are listed like any parquet dataset reader does (``.``/``_``-prefixed names are
    skipped: a part being written is hidden until it is renamed) and concatenated with schema
    promotion (a column missing from a part becomes nulls). Raises ``InputError`` naming the
    directory when it is missing or holds no row, or naming a part that cannot be read.
    """
    directory = Path(directory)
    if directory.is_file():
        files = [str(directory)]
    elif directory.is_dir():
        import pyarrow.dataset as pads

        try:
            files = sorted(pads.dataset(str(directory), format="parquet").files)
        except (OSError, pa.ArrowException):
            # Discovery reads the first part's schema; list the parts so the loop below names
            # the one that cannot be read.
            files = sorted(str(p) for p in directory.iterdir()
                           if p.is_file() and not p.name.startswith((".", "_")))
    else:
        raise InputError(str(directory), "not found: this is not a Monte Carlo study "
                                         "directory (expected the replications.parquet "
                                         "dataset written by 'shieldwall mc')")
    tables = []
    for name in files:
        try:
            tables.append(pq.read_table(name))
        except (OSError, pa.ArrowException) as err:
            raise InputError(name, f"cannot read this parquet part file ({err})") from None
    tables = [t for t in tables if t.num_rows]
    if not tables:
        raise InputError(str(directory), "holds no finished replication (no part file with "
                                         "rows); run or resume the study first")
    return pa.concat_tables(tables, promote_options="default")


def _column_array(column: pa.ChunkedArray) -> np.ndarray:
    """A column as numpy: numbers and booleans as float64 with NaN for nulls, else objects."""
    t = column.type
    if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t) \
            or pa.types.is_null(t):
        return np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False), float)
    return np.asarray(column.to_pylist(), dtype=object)


def table_columns(table: pa.Table, label: str) -> dict[str, np.ndarray]:
    """The columns of a replication table sorted by replication index (numbers as float64).

    Raises ``InputError`` (naming ``label``) when a replication index appears twice.
    """
    if "replication" in table.column_names:
        table = table.sort_by("replication")
        reps = table.column("replication").to_numpy(zero_copy_only=False)
        if reps.size > 1 and np.any(reps[1:] == reps[:-1]):
            dup = int(reps[1:][reps[1:] == reps[:-1]][0])
            raise InputError(label, f"replication {dup} is stored twice; the study directory "
                                    "is corrupted (remove the duplicate part file)")
    return {name: _column_array(table.column(name)) for name in table.column_names}


# ------------------------------------------------------------------------------ the study
@dataclass
class StudyData:
    """What the Monte Carlo report draws, read from one study directory."""

    studydir: Path
    study: dict[str, Any]
    summary: dict[str, Any]
    scenario: dict[str, Any]
    columns: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)
    #: ``resolved_scenario.json``: the sites with the ranges the study ran with ({} if absent)
    resolved: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def column(self, name: str) -> np.ndarray | None:
        return self.columns.get(name)

    def prefixed(self, prefix: str, order: Sequence[str] = ()) -> list[str]:
        """Names ``x`` of the columns ``prefix + x`` (``order`` first, then sorted)."""
        names = [c.removeprefix(prefix) for c in self.columns if c.startswith(prefix)]
        first = [x for x in dict.fromkeys(order) if x in names]
        return first + sorted(x for x in names if x not in first)


def load_study(studydir: str | Path) -> StudyData:
    """Read a Monte Carlo study directory (see the module docstring).

    Raises ``InputError`` naming the file when the directory or its replications dataset is
    missing or empty, a JSON file is malformed, or a replication is stored twice.
    """
    studydir = Path(studydir)
    if not studydir.is_dir():
        raise InputError(str(studydir), "not found or not a directory (expected a Monte Carlo "
                                        "study directory written by 'shieldwall mc')")
    study = read_json(studydir / STUDY_FILE, required=False)
    summary = read_json(studydir / SUMMARY_FILE, required=False)
    scenario = read_json(studydir / SCENARIO_FILE, required=False)
    resolved = read_json(studydir / RESOLVED_SCENARIO_FILE, required=False)
    rep_dir = studydir / REPLICATIONS_DIR
    columns = table_columns(read_dataset(rep_dir), str(rep_dir))
    data = StudyData(studydir, study, summary, scenario, columns, resolved=resolved)
    if scenario and not resolved:
        data.notes.append("resolved_scenario.json is missing (a study made by an older "
                          "shieldwall): the map's radar and engagement ranges are the packaged "
                          "catalog's, which may differ from those the study ran with.")
    n = data.n
    if "any_leaker" not in columns and "leakers" in columns:
        leakers = columns["leakers"]
        columns["any_leaker"] = np.where(np.isfinite(leakers), (leakers > 0).astype(float),
                                         np.nan)
        data.notes.append("P(any leaker) is derived from the leakers column (this study has "
                          "no any_leaker column).")
    if not study:
        data.notes.append("study.json is missing: the seed and scenario hash come from the "
                          "replication rows.")
    requested = study.get("n_requested")
    if isinstance(requested, int) and requested > n:
        data.notes.append(f"Incomplete study: {n} of {requested} requested replications are "
                          "finished.")
    reported = summary.get("replications")
    if isinstance(reported, int) and reported != n:
        data.notes.append(f"summary.json describes {reported} replications; this report uses "
                          f"the {n} rows found in replications.parquet.")
    return data


def _single(values: np.ndarray | None) -> Any:
    """The value shared by every row (or a list of the distinct values, or None)."""
    if values is None or len(values) == 0:
        return None
    distinct = sorted({v.item() if isinstance(v, np.generic) else v for v in values
                       if v is not None and not (isinstance(v, float) and math.isnan(v))},
                      key=str)
    if len(distinct) == 1:
        v = distinct[0]
        return int(v) if isinstance(v, float) and v.is_integer() else v
    return distinct or None


def study_header(data: StudyData) -> dict[str, Any]:
    """Scenario name, N, seed, scenario hash, version and the perfect-information switch."""
    s, m = data.study, data.summary
    seed = s.get("seed", m.get("seed", _single(data.column("seed"))))
    shash = s.get("scenario_hash", m.get("scenario_hash",
                                         _single(data.column("scenario_hash"))))
    name = s.get("scenario") or m.get("scenario") or data.scenario.get("name") \
        or data.studydir.name
    return {"scenario": str(name), "replications": data.n,
            "replications_requested": s.get("n_requested", m.get("replications_requested")),
            "seed": seed, "scenario_hash": shash,
            "version": s.get("version", m.get("version")),
            "perfect_information": bool(s.get("perfect_information",
                                              m.get("perfect_information", False)))}


# ------------------------------------------------------------------------ distributions
def integer_distribution(values: np.ndarray) -> dict[str, Any]:
    """Counts and empirical CDF of non-negative integer samples (NaN dropped).

    ``values[j] = j`` for ``j = 0 .. max``; ``counts[j] = #(x == j)``; ``cdf[j] = P(x <= j)``.
    """
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"n": 0, "values": [], "counts": [], "cdf": []}
    xi = np.rint(x).astype(np.int64)
    lo = min(int(xi.min()), 0)
    counts = np.bincount(xi - lo)
    return {"n": int(x.size), "values": list(range(lo, lo + counts.size)),
            "counts": counts.tolist(), "cdf": (np.cumsum(counts) / x.size).tolist()}


def histogram(values: np.ndarray) -> dict[str, Any]:
    """Equal-width histogram of the finite samples (Rice rule, 5 to 60 bins) with its ECDF.

    ``ecdf.x`` holds every distinct value (or ``MAX_ECDF_POINTS`` order statistics) and
    ``ecdf.p[i] = P(X <= x[i])`` exactly. ``n_undefined`` counts the non-finite samples.
    """
    x = np.asarray(values, float)
    finite = np.sort(x[np.isfinite(x)])
    out: dict[str, Any] = {"n": int(finite.size), "n_undefined": int(x.size - finite.size)}
    if finite.size == 0:
        return {**out, "edges": [], "counts": [], "ecdf": {"x": [], "p": []}}
    bins = int(np.clip(math.ceil(2.0 * finite.size ** (1.0 / 3.0)), 5, MAX_HISTOGRAM_BINS))
    lo, hi = float(finite[0]), float(finite[-1])
    if hi <= lo:
        width = max(abs(lo) * 0.05, 0.5)
        lo, hi, bins = lo - width, lo + width, 1
    edges = np.linspace(lo, hi, bins + 1)
    counts, _ = np.histogram(finite, bins=edges)
    points = np.unique(finite)
    if points.size > MAX_ECDF_POINTS:
        idx = np.unique(np.linspace(0, finite.size - 1, MAX_ECDF_POINTS).round().astype(int))
        points = np.unique(finite[idx])
    p = np.searchsorted(finite, points, side="right") / finite.size
    return {**out, "edges": edges.tolist(), "counts": counts.tolist(),
            "ecdf": {"x": points.tolist(), "p": p.tolist()}}


def box_stats(values: np.ndarray) -> dict[str, Any]:
    """Quartiles (numpy's linear interpolation), extremes and mean of the finite samples."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"q1": None, "median": None, "q3": None, "min": None, "max": None}
    q1, med, q3 = np.percentile(x, [25.0, 50.0, 75.0])
    return {"q1": float(q1), "median": float(med), "q3": float(q3), "min": float(x.min()),
            "max": float(x.max())}


def convergence_n(n: int, max_points: int = MAX_CONVERGENCE_POINTS) -> np.ndarray:
    """Sample sizes of the convergence curves: 1..n, or a log + linear subset ending at n."""
    if n <= max_points:
        return np.arange(1, n + 1)
    geo = np.geomspace(1, n, max_points * 3 // 5)
    lin = np.linspace(1, n, max_points * 2 // 5)
    return np.unique(np.concatenate([geo, lin, [n]]).round().astype(np.int64))


def running_mean_ci(samples: np.ndarray, checkpoints: np.ndarray,
                    confidence: float = CONFIDENCE) -> dict[str, list[float | None]]:
    """Mean and t-interval of the first N finite samples (replication order) at each N.

    Sums are taken about the overall mean, so the running variance keeps its precision for
    large values (costs in USD).
    """
    from scipy import stats as sps

    x = np.asarray(samples, float)
    x = x[np.isfinite(x)]
    m = np.asarray(checkpoints, np.int64)
    m = m[(m >= 1) & (m <= x.size)]
    if m.size == 0:
        return {"n": [], "mean": [], "lower": [], "upper": []}
    shift = float(x.mean())
    d = x - shift
    s1 = np.cumsum(d)[m - 1]
    s2 = np.cumsum(d * d)[m - 1]
    mean = shift + s1 / m
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.maximum(s2 - s1 * s1 / m, 0.0) / (m - 1)
        half = sps.t.ppf(0.5 + confidence / 2.0, m - 1) * np.sqrt(var / m)
    half = np.where(m >= 2, half, np.nan)
    return {"n": m.tolist(), "mean": mean.tolist(),
            "lower": [_opt(v) for v in mean - half], "upper": [_opt(v) for v in mean + half]}


def running_proportion_ci(flags: np.ndarray, checkpoints: np.ndarray,
                          confidence: float = CONFIDENCE) -> dict[str, list[float | None]]:
    """Proportion and Wilson interval of the first N (non-null) flags at each N."""
    x = np.asarray(flags, float)
    x = x[np.isfinite(x)]
    m = np.asarray(checkpoints, np.int64)
    m = m[(m >= 1) & (m <= x.size)]
    if m.size == 0:
        return {"n": [], "mean": [], "lower": [], "upper": []}
    k = np.cumsum(x > 0.5)[m - 1].astype(float)
    lower, upper = wilson_bounds(k, m.astype(float), confidence)
    return {"n": m.tolist(), "mean": (k / m).tolist(), "lower": lower.tolist(),
            "upper": upper.tolist()}


# ------------------------------------------------------------------------------ the sweep
@dataclass
class SweepData:
    """A sweep directory: its index, the rows of every point and the points' directories."""

    sweepdir: Path
    index: dict[str, Any]
    axes: list[dict[str, Any]]
    points: list[dict[str, Any]]
    rows: dict[int, dict[str, np.ndarray]]      # point -> columns (missing: no finished row)
    notes: list[str] = field(default_factory=list)


def value_label(value: Any) -> str:
    """How a swept value is shown (strings as they are, anything else as JSON)."""
    return value if isinstance(value, str) else json.dumps(value)


def load_sweep(sweepdir: str | Path) -> SweepData:
    """Read a sweep directory: ``sweep.json`` (required), rows from ``sweep.parquet`` and,
    for points it lacks, from each point's study directory.

    Raises ``InputError`` naming the file when ``sweep.json`` is missing or malformed.
    """
    sweepdir = Path(sweepdir)
    index_path = sweepdir / SWEEP_FILE
    if not sweepdir.is_dir():
        raise InputError(str(sweepdir), "not found or not a directory (expected a sweep "
                                        "directory written by 'shieldwall sweep')")
    index = read_json(index_path, required=True)
    axes = index.get("axes")
    points = index.get("points")
    if not isinstance(axes, list) or not all(isinstance(a, dict) and "path" in a
                                             and isinstance(a.get("values"), list)
                                             for a in axes):
        raise InputError(str(index_path), "expected 'axes': a list of {path, values}",
                         field="axes")
    if not isinstance(points, list) or not all(isinstance(p, dict) and "point" in p
                                               for p in points):
        raise InputError(str(index_path), "expected 'points': a list of {point, params, dir}",
                         field="points")
    data = SweepData(sweepdir, index, axes, points, {})
    table_path = sweepdir / SWEEP_TABLE
    if table_path.exists():
        try:
            table = pq.read_table(table_path)
        except (OSError, pa.ArrowException) as err:
            raise InputError(str(table_path), f"cannot read this parquet file ({err})") \
                from None
        if "point" not in table.column_names:
            raise InputError(str(table_path), "has no 'point' column", field="point")
        point_col = table.column("point").to_numpy(zero_copy_only=False)
        for k in np.unique(point_col):
            sub = table.filter(pa.array(point_col == k))
            data.rows[int(k)] = table_columns(sub, f"{table_path} (point {int(k)})")
    for p in points:
        k = int(p["point"])
        if k in data.rows:
            continue
        rep_dir = sweepdir / str(p.get("dir", "")) / REPLICATIONS_DIR
        try:
            data.rows[k] = table_columns(read_dataset(rep_dir), str(rep_dir))
        except InputError:
            data.notes.append(f"Point {k} has no finished replication yet.")
    if not data.rows:
        raise InputError(str(table_path), "not found, and no point directory holds a finished "
                                          "replication; run or resume the sweep first")
    return data


def point_estimates(columns: Mapping[str, np.ndarray] | None) -> dict[str, Any]:
    """Headline estimates of one sweep point (or study) from its replication columns."""
    if not columns:
        return {"n": 0}
    out: dict[str, Any] = {"n": len(next(iter(columns.values())))}
    for name in ("leakers", "value_lost", "interceptors_fired", "interceptor_cost_usd",
                 "cost_exchange_ratio"):
        if name in columns:
            out[name] = mean_ci(columns[name]).as_dict()
    flags = columns.get("any_leaker")
    if flags is None and "leakers" in columns:
        lk = columns["leakers"]
        flags = np.where(np.isfinite(lk), (lk > 0).astype(float), np.nan)
    if flags is not None:
        f = flags[np.isfinite(flags)]
        out["p_any_leaker"] = proportion_ci(int((f > 0.5).sum()), int(f.size)).as_dict()
    return out


# ------------------------------------------------------------------------------ the map
def study_sites(data: StudyData) -> dict[str, list[dict[str, Any]]]:
    """The map sites of a study: from ``resolved_scenario.json`` (the ranges and sectors of the
    catalog the study ran with, written by ``shieldwall mc``), else, for an older study, from
    its ``scenario.json`` model and the packaged catalog (``map_sites``). Assets come from the
    model when there is one (it also holds their names)."""
    if not data.resolved:
        return map_sites(data.scenario)
    doc = dict(data.resolved)
    if data.scenario.get("assets"):
        doc["assets"] = data.scenario["assets"]
    return map_sites(doc)


def map_sites(scenario: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Assets, batteries and early-warning sensors of ``scenario.json`` in the map form of a
    run's results directory (docs/internals.md): ``radar_range_m``, ``engagement_range_m``,
    ``sector_half_width_deg`` and ``heading_deg`` per battery, ``range_m`` per sensor.

    A document in that form (a run's ``scenario.json``, a study's ``resolved_scenario.json``)
    is taken as it is. A scenario *model* (the ``scenario.json`` of a study made before
    ``resolved_scenario.json`` existed) has no ranges: they are then looked up in the packaged
    catalog, and a name the catalog does not know leaves that site without coverage.
    """
    from shieldwall.catalog import load_catalog

    catalog: Any = None

    def cat() -> Any:
        nonlocal catalog
        if catalog is None:
            catalog = load_catalog()
        return catalog

    def located(rec: Any) -> bool:
        return isinstance(rec, dict) and all(
            isinstance(rec.get(k), int | float) and not isinstance(rec.get(k), bool)
            for k in ("lat_deg", "lon_deg"))

    def half_deg(rad: float | None) -> float | None:
        return None if rad is None else math.degrees(rad)

    assets = [{"id": str(a.get("id", "")), "kind": str(a.get("kind", "other")),
               "name": a.get("name"), "lat_deg": float(a["lat_deg"]),
               "lon_deg": float(a["lon_deg"]), "value": a.get("value"),
               "radius_m": float(a.get("radius_m") or 0.0)}
              for a in scenario.get("assets") or [] if located(a)]
    batteries = []
    for b in scenario.get("batteries") or []:
        if not located(b):
            continue
        rec = {"id": str(b.get("id", "")), "system": str(b.get("system", "")),
               "lat_deg": float(b["lat_deg"]), "lon_deg": float(b["lon_deg"]),
               "heading_deg": float(b.get("heading_deg", b.get("radar_heading_deg")) or 0.0),
               "radar_range_m": b.get("radar_range_m"),
               "sector_half_width_deg": b.get("sector_half_width_deg"),
               "engagement_range_m": b.get("engagement_range_m"),
               "interceptors": b.get("interceptors")}
        if "radar_range_m" not in b:
            try:
                system = cat().systems[rec["system"]]
                radar = cat().radars[system.radar]
                loads = [g.get("interceptor") for g in b.get("launchers") or []
                         if isinstance(g, dict)] or [system.interceptors[0]]
                rec["radar_range_m"] = radar.max_range_m
                rec["sector_half_width_deg"] = half_deg(radar.sector_half_width_rad)
                rec["engagement_range_m"] = max(
                    (env.max_range_m for name in loads if name in cat().interceptors
                     for env in cat().interceptors[name].envelopes.values()), default=None)
                rec["interceptors"] = sorted(set(loads))
            except (KeyError, IndexError):
                pass
        batteries.append(rec)
    sensors = []
    for s in scenario.get("sensors") or []:
        if not located(s):
            continue
        rec = {"id": str(s.get("id", "")), "radar": str(s.get("radar", "")),
               "lat_deg": float(s["lat_deg"]), "lon_deg": float(s["lon_deg"]),
               "heading_deg": float(s.get("heading_deg") or 0.0), "range_m": s.get("range_m"),
               "sector_half_width_deg": s.get("sector_half_width_deg")}
        if "range_m" not in s:
            try:
                radar = cat().radars[rec["radar"]]
                rec["range_m"] = radar.max_range_m
                rec["sector_half_width_deg"] = half_deg(radar.sector_half_width_rad)
            except KeyError:
                pass
        sensors.append(rec)
    return {"assets": assets, "batteries": batteries, "sensors": sensors}
