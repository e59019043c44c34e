"""Monte Carlo studies over any ``concurrent.futures.Executor`` (docs/formats.md §3, §5).

A study is a pure function mapped over replication indices::

    row_i = run_replication(scenario, seed, i)          # depends only on (scenario, seed, i)

so the rows are the same with one worker, many workers or a Dask cluster, in any completion
order and after any retry. Workers return small flat rows (one per replication); the driver
buffers them and appends them to ``OUTDIR/replications.parquet`` -- a parquet *dataset
directory* of part files, each written under a hidden temporary name and renamed into place,
so a reader (``pyarrow.parquet.read_table``, ``pandas.read_parquet``, DuckDB) never sees a
partial part and a killed study keeps every finished chunk. ``OUTDIR/study.json`` fixes the
scenario hash and the seed; ``resume=True`` runs only the missing replication indices and
refuses a different scenario or seed. At the end ``summary.json`` holds the means and 95 %
confidence intervals (``shieldwall.analysis.stats``) and their convergence with N.

Executors: by default a local ``ProcessPoolExecutor`` with one worker per core (forkserver
start, workers ignore SIGINT so Ctrl-C is handled once, by the driver; each worker watches the
driver process and exits as soon as it is gone, even after ``kill -9``, so no worker and no
forkserver outlives the study). A pool that breaks
(a worker killed by the OOM killer, a crash) is replaced by a fresh one and every replication
not yet returned is submitted again; rows are keyed by replication index and written once.
A ``distributed.Client`` (or its ``get_executor()``) works too: the Dask scheduler itself
reschedules the tasks of a lost worker.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shieldwall import __version__
from shieldwall.analysis.stats import (
    CONFIDENCE,
    convergence_checkpoints,
    estimate_mean,
    estimate_proportion,
    half_width_convergence,
)
from shieldwall.core.errors import InputError, ShieldwallError
from shieldwall.core.jsonutil import json_default
from shieldwall.core.outputs import RESUME, check_output_dir, prepare_directory_in_place
from shieldwall.core.types import FATES, THREAT_CLASSES
from shieldwall.scenario import Scenario, load_scenario

REPLICATIONS_DIR = "replications.parquet"
STUDY_FILE = "study.json"
SUMMARY_FILE = "summary.json"
RUN_INFO_FILE = "run_info.json"
SCENARIO_FILE = "scenario.json"
#: The laydown resolved against the catalog the replications use, in the form of a run's
#: scenario.json (what the report's map draws; it never looks names up in a catalog itself).
RESOLVED_SCENARIO_FILE = "resolved_scenario.json"
STUDY_FORMAT = "shieldwall-mc/1"

#: Columns that legitimately differ between two runs of the same replication.
NONDETERMINISTIC_COLUMNS = ("wall_time_s", "cpu_time_s")


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C during a study: finished replications are saved; ``resume=True`` continues.

    Attributes
    ----------
    done : replications saved in the output directory
    n : replications requested
    outdir : the output directory (None when the study kept no files)
    """

    def __init__(self, done: int, n: int, outdir: Path | None,
                 seed: int | None = None) -> None:
        super().__init__(f"interrupted after {done} of {n} replications")
        self.done = done
        self.n = n
        self.outdir = outdir
        self.seed = seed


class WorkerCrashError(ShieldwallError):
    """Worker processes kept dying without any replication finishing in between."""


# ---------------------------------------------------------------------------- identity
def scenario_hash(scenario: Scenario, perfect_information: bool | None = None) -> str:
    """Short SHA-256 (16 hex digits) of the resolved scenario, without its ``seed`` field.

    The seed is a separate column of every row, so a study can be refused for a different
    scenario and, with its own message, for a different seed. The effective perfect-information
    switch is part of the hash (it changes the results).
    """
    doc = scenario.model_dump(mode="json")
    doc.pop("seed", None)
    if perfect_information is not None:
        doc["perfect_information"] = bool(perfect_information)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# ------------------------------------------------------------------------ replication rows
def replication_row(summary: Mapping[str, Any], scenario_hash: str,
                    wall_time_s: float, cpu_time_s: float = math.nan) -> dict[str, Any]:
    """Flatten a run summary (docs/formats.md §4) into one row of ``replications.parquet``.

    Columns (stable for a given scenario): ``replication``, ``seed``, ``scenario_hash``,
    ``threats``, ``leakers``, ``any_leaker``, ``leakers_<class>``, ``intercepted_<class>``,
    ``fate_<fate>``, ``value_lost``, ``value_lost_<asset>``, ``damaged_<asset>`` (at least one
    hit inside its damage radius), ``interceptors_fired``, ``fired_<interceptor>``,
    ``interceptor_cost_usd`` and ``raid_cost_usd`` (USD), ``cost_exchange_ratio`` (NaN without
    a raid cost), ``engagements``, and the two non-deterministic columns ``wall_time_s`` and
    ``cpu_time_s`` (s, wall and CPU time of the replication in its worker).
    """
    fates = summary["fates"]
    by_class = summary["fates_by_class"]
    row: dict[str, Any] = {
        "replication": int(summary["replication"]),
        "seed": int(summary["seed"]),
        "scenario_hash": str(scenario_hash),
        "threats": int(summary["threats"]),
        "leakers": int(fates["leaked"]),
        "any_leaker": bool(fates["leaked"] > 0),
    }
    for cls in THREAT_CLASSES:
        row[f"leakers_{cls.value}"] = int(by_class[cls.value]["leaked"])
    for cls in THREAT_CLASSES:
        row[f"intercepted_{cls.value}"] = int(by_class[cls.value]["intercepted"])
    for fate in FATES:
        row[f"fate_{fate.value}"] = int(fates[fate.value])
    row["value_lost"] = float(summary["value_lost"])
    for asset, d in summary["asset_damage"].items():
        row[f"value_lost_{asset}"] = float(d["value_lost"])
    for asset, d in summary["asset_damage"].items():
        row[f"damaged_{asset}"] = bool(d["hits"] > 0)
    fired = summary["interceptors_fired"]
    row["interceptors_fired"] = int(sum(fired.values()))
    for name, count in fired.items():
        row[f"fired_{name}"] = int(count)
    row["interceptor_cost_usd"] = float(summary["interceptor_cost_usd"])
    row["raid_cost_usd"] = float(summary["raid_cost_usd"])
    ratio = summary.get("cost_exchange_ratio")
    row["cost_exchange_ratio"] = math.nan if ratio is None else float(ratio)
    row["engagements"] = int(summary.get("engagements", 0))
    row["wall_time_s"] = float(wall_time_s)
    row["cpu_time_s"] = float(cpu_time_s)
    return row


def run_replication(scenario: Scenario, seed: int, replication: int, *,
                    scenario_hash: str = "",
                    perfect_information: bool | None = None) -> dict[str, Any]:
    """Simulate replication ``replication`` of the study seeded ``seed``; return its row.

    Top-level and picklable: this is what the workers run. The row depends only on
    ``(scenario, seed, replication)`` apart from ``wall_time_s`` and ``cpu_time_s`` (s).
    """
    from shieldwall.engine import simulate

    t0 = time.perf_counter()
    c0 = time.process_time()
    result = simulate(scenario, seed=seed, replication=replication,
                      perfect_information=perfect_information, record=False)
    return replication_row(result.summary, scenario_hash, time.perf_counter() - t0,
                           time.process_time() - c0)


ReplicateFn = Callable[..., dict[str, Any]]


def resolved_scenario_doc(scenario: Scenario) -> dict[str, Any]:
    """The study's laydown as a run writes it to ``scenario.json`` (docs/internals.md "Results
    directory"): sites with the radar and engagement ranges, sectors and loads of the catalog
    the replications run with (``engine.build_world``'s), for the report's map."""
    from shieldwall.engine.tables import scenario_doc
    from shieldwall.engine.world import build_world

    return scenario_doc(build_world(scenario))


@dataclass(frozen=True)
class ReplicationTask:
    """What a worker needs to run any replication of one study (pickled once per batch)."""

    scenario: Scenario
    seed: int
    scenario_hash: str
    perfect_information: bool | None = None
    replicate: ReplicateFn = run_replication


def run_batch(task: ReplicationTask, replications: Sequence[int]) -> list[dict[str, Any]]:
    """Run the given replication indices of ``task`` in order (one executor task)."""
    return [task.replicate(task.scenario, task.seed, int(i), scenario_hash=task.scenario_hash,
                           perfect_information=task.perfect_information)
            for i in replications]


# ------------------------------------------------------------------------------ the store
def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` via a temporary file and a rename."""
    text = json.dumps(obj, indent=2, default=json_default, allow_nan=False) + "\n"
    _atomic_write_bytes(Path(path), text.encode("utf-8"))


def rows_to_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """A pyarrow table of replication rows (columns in the order of the first row)."""
    names = list(rows[0])
    return pa.table({name: [r[name] for r in rows] for name in names})


def write_part(directory: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``rows`` as one new part file of the dataset ``directory``, atomically.

    The part is written under a hidden name (``.``-prefixed names are skipped by parquet
    dataset readers) and renamed into place, so readers see either nothing or the whole part.
    """
    directory.mkdir(parents=True, exist_ok=True)
    first = min(int(r["replication"]) for r in rows)
    name = f"part-{first:010d}-{uuid.uuid4().hex[:12]}.parquet"
    tmp = directory / f".{name}.tmp"
    pq.write_table(rows_to_table(rows), tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, directory / name)
    return directory / name


def _part_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("part-*.parquet") if p.is_file())


def _read_part(path: Path, columns: Sequence[str] | None) -> pa.Table:
    """One part file, or ``InputError`` naming it (never deleted: the user decides)."""
    wanted = list(dict.fromkeys(["replication", *(columns or [])]))
    advice = (f"shieldwall does not delete it: move it out of {REPLICATIONS_DIR}/ (its "
              "replications then run again on --resume) or restore it, then run the command "
              "again")
    try:
        schema = pq.read_schema(path)
        missing = [c for c in wanted if c not in schema.names]
        if missing:
            raise InputError(str(path), f"this part file has no column "
                             f"{', '.join(repr(c) for c in missing)}, so it is not a part "
                             f"written by shieldwall mc; {advice}", field=missing[0])
        table = pq.read_table(path, columns=wanted if columns else None)
    except (OSError, pa.ArrowException) as err:
        raise InputError(str(path), f"cannot read this part file of the study ({err}); "
                                    f"{advice}") from None
    if table.column("replication").null_count:
        raise InputError(str(path), f"this part file has rows without a replication index; "
                                    f"{advice}", field="replication")
    return table


def read_replications(outdir: str | Path, columns: Sequence[str] | None = None) -> pa.Table:
    """All finished replication rows of a study directory, sorted by replication index.

    Raises ``InputError`` naming the part file that cannot be read, or if a replication index
    appears twice (a corrupted store).
    """
    parts = _part_files(Path(outdir) / REPLICATIONS_DIR)
    if not parts:
        return pa.table({"replication": pa.array([], pa.int64())})
    tables = [_read_part(p, columns) for p in parts]
    table = pa.concat_tables(tables, promote_options="default")
    if "replication" in table.column_names:
        table = table.sort_by("replication")
        reps = table.column("replication").to_numpy()
        if reps.size > 1 and np.any(reps[1:] == reps[:-1]):
            dup = int(reps[1:][reps[1:] == reps[:-1]][0])
            raise InputError(str(Path(outdir) / REPLICATIONS_DIR),
                             f"replication {dup} is stored twice; the study directory is "
                             "corrupted (remove the duplicate part file)")
    return table


class _RowSink:
    """Buffers finished rows and appends them as part files (by size or by age)."""

    def __init__(self, directory: Path | None, max_rows: int, max_age_s: float) -> None:
        self.directory = directory
        self.max_rows = max_rows
        self.max_age_s = max_age_s
        self.buffer: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []  # kept in memory when there is no directory
        self.last_flush = time.monotonic()
        self.n_parts = 0

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        self.buffer.extend(rows)

    def maybe_flush(self) -> None:
        if self.buffer and (len(self.buffer) >= self.max_rows
                            or time.monotonic() - self.last_flush >= self.max_age_s):
            self.flush()

    def flush(self) -> None:
        # Take the rows out of the buffer first: a Ctrl-C inside the write may lose them (they
        # run again on resume) but can never make a second flush write them twice.
        rows, self.buffer = self.buffer, []
        if rows:
            if self.directory is None:
                self.rows.extend(rows)
            else:
                write_part(self.directory, sorted(rows, key=lambda r: r["replication"]))
                self.n_parts += 1
        self.last_flush = time.monotonic()


# --------------------------------------------------------------------------- the study file
def _study_doc(scenario: Scenario, seed: int, n: int, shash: str,
               perfect_information: bool) -> dict[str, Any]:
    return {
        "format": STUDY_FORMAT,
        "scenario": scenario.name,
        "scenario_hash": shash,
        "seed": int(seed),
        "n_requested": int(n),
        "perfect_information": bool(perfect_information),
        "version": __version__,
        "assets": [a.id for a in scenario.assets],
        "threat_classes": [c.value for c in THREAT_CLASSES],
        "fates": [f.value for f in FATES],
    }


def _check_resume(outdir: Path, shash: str, seed: int, scenario_name: str) -> dict[str, Any]:
    path = outdir / STUDY_FILE
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError, MemoryError) as err:
        raise InputError(str(path), f"cannot read the study file to resume ({err})") from None
    if not isinstance(old, dict):
        raise InputError(str(path), "cannot resume: the study file is not a JSON object")
    if old.get("scenario_hash") != shash:
        raise InputError(
            str(path), f"cannot resume: this directory holds a study of a different scenario "
            f"('{old.get('scenario')}', hash {old.get('scenario_hash')}; this scenario "
            f"'{scenario_name}' has hash {shash}). Resume with the same scenario file, or "
            "write to another directory", field="scenario_hash")
    if int(old.get("seed", -1)) != int(seed):
        raise InputError(
            str(path), f"cannot resume: the study was run with seed {old.get('seed')}, not "
            f"{seed}. Pass --seed {old.get('seed')} to resume it, or write to another "
            "directory", field="seed")
    return old


def _existing_replications(outdir: Path, shash: str, seed: int) -> set[int]:
    table = read_replications(outdir, columns=["replication", "seed", "scenario_hash"])
    if table.num_rows == 0:
        return set()
    hashes = set(table.column("scenario_hash").to_pylist())
    seeds = set(table.column("seed").to_pylist())
    if hashes != {shash} or seeds != {seed}:
        raise InputError(str(outdir / REPLICATIONS_DIR),
                         f"cannot resume: stored rows have scenario hashes {sorted(hashes)} and "
                         f"seeds {sorted(seeds)}, not {shash} and {seed}")
    return set(table.column("replication").to_pylist())


def _resume_state(outdir: Path, shash: str, seed: int, scenario_name: str,
                  n: int) -> tuple[dict[str, Any], set[int]]:
    """(stored study document, stored replication indices) of a study resumed to ``n``.

    Raises ``InputError`` for a study of another scenario or seed, an unreadable study or part
    file, or stored replications at index ``n`` or beyond: a study never drops finished rows,
    so ``-n 3`` on a 6-replication study is refused rather than silently kept at 6.
    """
    old = _check_resume(outdir, shash, seed, scenario_name)
    done = _existing_replications(outdir, shash, seed)
    beyond = [i for i in done if i >= n]
    if beyond:
        keep = max(int(old.get("n_requested") or 0), max(done) + 1)
        raise InputError(
            str(outdir), f"cannot resume with -n {n}: this study already holds {len(done)} "
            f"finished replications, {len(beyond)} of them at index {n} or beyond (up to "
            f"{max(done)}), and a study never drops finished rows. Resume with -n {keep} (or "
            f"more) to keep them all, or run the {n}-replication study in a new output "
            f"directory (with the same seed its rows are the first {n} of this one)",
            field="-n")
    return old, done


def check_resume(outdir: str | Path, scenario: Scenario, n: int, seed: int | None = None,
                 perfect_information: bool | None = None) -> set[int]:
    """The replication indices that ``monte_carlo(..., resume=True)`` would keep in ``outdir``.

    Checks everything a resume checks before it writes or runs anything (same scenario and
    seed, every part file readable, no stored replication at index ``n`` or beyond) and
    raises ``InputError`` otherwise; an empty set when ``outdir`` holds no study yet.
    """
    out = Path(outdir)
    if not (out / STUDY_FILE).exists():
        return set()
    seed = int(scenario.seed if seed is None else seed)
    perfect = bool(scenario.perfect_information if perfect_information is None
                   else perfect_information)
    return _resume_state(out, scenario_hash(scenario, perfect), seed, scenario.name,
                         int(n))[1]


# --------------------------------------------------------------------------- executors
def _worker_init(driver_pid: int | None = None) -> None:
    # Ctrl-C goes to the whole process group: only the driver handles it. SIGTERM keeps its
    # default action: the pool itself ends workers with it when it breaks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if driver_pid is not None:
        watch_driver(driver_pid)


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    with contextlib.suppress(OSError):  # a zombie still answers kill(pid, 0)
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    return False


def watch_driver(pid: int, poll_s: float = 0.5) -> threading.Thread | None:
    """End this process (``os._exit(1)``) as soon as process ``pid`` has exited.

    A worker's parent is the forkserver, not the driver, and the forkserver only exits once
    every worker has closed its copy of the driver's "alive" pipe; the workers themselves wait
    on a queue that they also hold open. So after ``kill -9`` of the driver nothing would ever
    end them: each worker watches the driver instead -- by a pidfd (Linux 5.3+; readable when
    the process exits, immune to pid reuse), else by polling every ``poll_s`` s -- and once the
    workers are gone the forkserver and the resource tracker exit by themselves. Returns the
    daemon thread that waits (None if ``pid`` is already gone: then this process exits).
    """
    fd: int | None = None
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd on this platform or kernel: poll
        fd = None
    if fd is None and _process_gone(pid):
        os._exit(1)

    def wait_for_exit() -> None:
        if fd is not None:
            with contextlib.suppress(OSError):
                select.select([fd], [], [])
        else:
            while not _process_gone(pid):
                time.sleep(poll_s)
        os._exit(1)

    thread = threading.Thread(target=wait_for_exit, name=f"watch-driver-{pid}", daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block SIGTERM stops a study like Ctrl-C (``KeyboardInterrupt``).

    ``monte_carlo`` then cancels pending work, ends the workers, saves every finished row and
    raises ``StudyInterrupted``. Further SIGTERMs are ignored until the block ends, so the
    clean-up is not cut short (``kill -9`` still works). Only the main thread can handle
    signals: elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def local_pool(workers: int | None = None,
               mp_context: str | None = None) -> ProcessPoolExecutor:
    """A local process pool for replications: ``workers`` processes (default: every core).

    Workers start by forkserver where available (no fork of a threaded driver) with this
    module preloaded, ignore SIGINT, and exit when this process is gone (``watch_driver``).
    """
    n = int(workers or os.cpu_count() or 1)
    if n < 1:
        raise InputError("--workers", f"needs at least one worker, got {n}")
    if mp_context is None:
        mp_context = ("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                      else "spawn")
    ctx = multiprocessing.get_context(mp_context)
    if mp_context == "forkserver":
        ctx.set_forkserver_preload(["shieldwall.analysis.montecarlo", "shieldwall.engine"])
    return ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init,
                               initargs=(os.getpid(),))


def _terminate_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a local pool now: cancel queued work and end the worker processes."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(timeout=5)


def _capacity(executor: Any) -> int:
    """Parallel slots of an executor (worker processes or Dask threads)."""
    if isinstance(executor, ProcessPoolExecutor):
        return int(getattr(executor, "_max_workers", os.cpu_count() or 1))
    client = getattr(executor, "_client", None)
    if client is not None:
        with contextlib.suppress(Exception):
            info = client.scheduler_info()
            slots = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
            if slots:
                return slots
    return int(os.cpu_count() or 1)


def connect_dask(address: str) -> Any:
    """A ``distributed.Client`` connected to the scheduler at ``address``.

    Raises ``InputError`` when dask is not installed or the scheduler does not answer.
    """
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--scheduler", "Dask is not installed; install the extra: "
                                        "pip install 'shieldwall[dask]'") from None
    try:
        return Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as err:
        raise InputError("--scheduler", f"cannot connect to the Dask scheduler at "
                                        f"{address!r}: {err}") from None


# --------------------------------------------------------------------------- the progress bar
class EtaEstimator:
    """Replications per second and time left of a study, from this session's work only.

    A generic bar's estimate (completions over a recent window) is wrong at the start of a
    study: resumed rows count as done at no cost, and the first results of several workers
    arrive together, so the rate from the short gap between them is huge ("2/8 ETA 0:00:01").
    Here, at each completion (``record``):

    - the clock starts when the workers began computing: the earliest (arrival time minus the
      worker time of that batch), so pool start-up is not counted, never before this session;
    - ``rate = (D + P) / elapsed``: ``D`` replications returned in this session and ``P`` the
      part of the in-flight ones already computed -- the slots have worked ``slots * elapsed``
      s of which ``W`` s came back, so about ``(slots * elapsed - W) / m`` replications
      (``m = W / D``, the mean replication time) are done but not returned yet, at most the
      ``running`` ones being computed now;
    - ``eta = (remaining - D - P) / rate``, counting down between completions.

    Without worker times (``busy_s=None``) it falls back to ``D`` over the time since this
    session started. ``clock`` (s, monotonic) is injectable for tests.
    """

    def __init__(self, remaining: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.remaining = int(remaining)
        self.clock = clock
        self.t_start = clock()
        self.t_begin: float | None = None
        self.done = 0
        self.busy_s = 0.0
        self.timed = True
        self.rate: float | None = None
        self._estimate: tuple[float, float] | None = None  # (when, seconds left then)

    def record(self, k: int, busy_s: float | None = None, running: int = 0,
               slots: int = 1) -> None:
        """``k`` replications came back, computed in ``busy_s`` worker-seconds; ``running``
        replications are being computed now on ``slots`` parallel slots."""
        now = self.clock()
        self.done += int(k)
        if busy_s is None or not math.isfinite(busy_s):
            self.timed = False  # from now on: D over the time since this session started
        begin = self.t_start
        if self.timed and busy_s is not None:
            worked = max(float(busy_s), 0.0)
            self.busy_s += worked
            begin = max(self.t_start, now - worked)
        self.t_begin = begin if self.t_begin is None else min(self.t_begin, begin)
        elapsed = now - self.t_begin
        if elapsed <= 0 or self.done <= 0:
            return
        partial = 0.0
        if self.timed and self.busy_s > 0:
            mean_s = self.busy_s / self.done
            partial = min(float(max(running, 0)),
                          max(0.0, (max(slots, 1) * elapsed - self.busy_s) / mean_s))
        self.rate = (self.done + partial) / elapsed
        left = max(0.0, self.remaining - self.done - partial)
        self._estimate = (now, left / self.rate)

    def eta(self) -> float | None:
        """Seconds left (None before the first replication of this session came back)."""
        if self._estimate is None:
            return None
        when, left = self._estimate
        return max(0.0, left - (self.clock() - when))


class _Progress:
    """A rich progress bar on stderr (done/total, replications per second, ETA) or nothing.

    Rate and ETA come from ``EtaEstimator`` (this session's replications only)."""

    def __init__(self, enabled: bool, total: int, done: int, label: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bar: Any = None
        self.estimator = EtaEstimator(total - done, clock=clock)
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.text import Text

        estimator = self.estimator

        class RateColumn(ProgressColumn):
            def render(self, task: Any) -> Text:
                rate = estimator.rate
                return Text("  ?  rep/s" if rate is None else f"{rate:6.2f} rep/s")

        class EtaColumn(ProgressColumn):
            def render(self, task: Any) -> Text:
                left = estimator.eta()
                if left is None:
                    return Text("ETA -:--:--")
                s = int(math.ceil(left))
                return Text(f"ETA {s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}")

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), RateColumn(), TimeElapsedColumn(),
                            EtaColumn(), console=Console(stderr=True), transient=False)
        self.task = self.bar.add_task(label, total=total, completed=done)
        self.bar.start()

    def advance(self, k: int, busy_s: float | None = None, running: int = 0,
                slots: int = 1) -> None:
        self.estimator.record(k, busy_s, running, slots)
        if self.bar is not None:
            self.bar.advance(self.task, k)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# --------------------------------------------------------------------------- the driver
@dataclass
class MonteCarloResult:
    """What a study produced.

    Attributes
    ----------
    summary : the content of ``summary.json`` (means, 95 % intervals, convergence)
    table : every replication row, sorted by replication index (pyarrow table)
    outdir : the study directory (None for an in-memory study)
    n_run : replications run by this call (the rest were resumed from disk)
    wall_time_s : wall time of this call (s)
    pool_restarts : broken local pools replaced during this call
    """

    summary: dict[str, Any]
    table: pa.Table
    outdir: Path | None
    n_run: int
    wall_time_s: float
    pool_restarts: int = 0
    info: dict[str, Any] = field(default_factory=dict)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_study_arguments(n: Any, seed: Any = None, *, workers: Any = None,
                          chunk_seconds: Any = None, chunk_rows: Any = None,
                          batch_size: Any = None, confidence: Any = None,
                          max_memory_gb: Any = None) -> None:
    """``InputError`` naming the argument (as its command-line flag) for a study argument of
    the wrong type or range: ``n`` and ``seed`` integers (``n >= 1``, ``0 <= seed < 2**63``),
    ``workers``/``chunk_rows``/``batch_size`` integers >= 1, ``chunk_seconds`` finite and
    >= 0, ``max_memory_gb`` finite and positive, ``confidence`` in (0, 1). ``monte_carlo`` and
    ``run_sweep`` call it before anything is written."""
    from shieldwall.scenario.models import MAX_SEED

    where = "<arguments>"
    if not _is_int(n) or int(n) < 1:
        raise InputError(where, f"the number of replications must be an integer of at least "
                                f"1, got {n!r}", field="-n")
    if seed is not None and not (_is_int(seed) and 0 <= int(seed) <= MAX_SEED):
        raise InputError(where, f"the seed must be an integer from 0 to 2**63 - 1, got "
                                f"{seed!r}", field="--seed")
    for flag, value in (("--workers", workers), ("chunk_rows", chunk_rows),
                        ("batch_size", batch_size)):
        if value is not None and not (_is_int(value) and int(value) >= 1):
            raise InputError(where, f"expected an integer of at least 1, got {value!r}",
                             field=flag)
    # chunk_seconds 0 writes every row at once (the command line asks for a positive one).
    for flag, value, least in (("--chunk-seconds", chunk_seconds, 0.0),
                               ("--max-memory-gb", max_memory_gb, None)):
        if value is not None and not (isinstance(value, (int, float, np.number))
                                      and not isinstance(value, bool) and math.isfinite(value)
                                      and (value >= least if least is not None else value > 0)):
            kind = "a non-negative" if least is not None else "a positive"
            raise InputError(where, f"expected {kind} number, got {value!r}", field=flag)
    if confidence is not None and not (isinstance(confidence, (int, float, np.number))
                                       and 0.0 < float(confidence) < 1.0):
        raise InputError(where, f"expected a level between 0 and 1, got {confidence!r}",
                         field="confidence")


def monte_carlo(scenario: Scenario | str | Path, n: int, seed: int | None = None,
                executor: Executor | Any | None = None, outdir: str | Path | None = None,
                resume: bool = False, progress: bool = True, *, workers: int | None = None,
                overwrite: bool = False,
                perfect_information: bool | None = None,
                replicate: ReplicateFn = run_replication, batch_size: int | None = None,
                chunk_rows: int = 1000, chunk_seconds: float = 5.0,
                max_pool_restarts: int = 3, mp_context: str | None = None,
                confidence: float = CONFIDENCE, label: str | None = None,
                max_memory_gb: float | None = None) -> MonteCarloResult:
    """Run replications ``0 .. n-1`` of ``scenario`` and summarize them.

    Parameters
    ----------
    scenario : a validated scenario, or the path of a scenario file
    n : number of replications (indices ``0 .. n-1``)
    seed : study seed (default: the scenario's ``seed``); replication *i* draws from
        ``SeedSequence(seed, spawn_key=(i,))`` (docs/formats.md §3)
    executor : any ``concurrent.futures.Executor`` or a ``distributed.Client``; default a local
        process pool of ``workers`` processes owned (and repaired if it breaks) by this call
    outdir : study directory (``replications.parquet/``, ``study.json``, ``summary.json``);
        None keeps the rows in memory only
    resume : continue the study in ``outdir``: run only the missing indices; refuses a
        different scenario (hash) or seed with ``InputError``
    overwrite : replace a previous study in ``outdir`` (only a directory shieldwall wrote as a
        Monte Carlo study; anything else in ``outdir`` is refused, see
        ``shieldwall.core.outputs``)
    progress : show a rich progress bar on stderr
    workers : processes of the default local pool (default ``os.cpu_count()``)
    perfect_information : override the scenario's study switch
    replicate : the per-replication function ``f(scenario, seed, i, *, scenario_hash,
        perfect_information) -> row`` (top-level, picklable); default ``run_replication``
    batch_size : replications per executor task (default: adaptive, about 0.5 s of work on
        a local pool, 2 s on other executors)
    chunk_rows, chunk_seconds : a part file is written when this many rows are buffered or
        the oldest is this old (s)
    max_pool_restarts : local pools replaced in a row without progress before giving up
    mp_context : start method of the default pool (default forkserver where available)
    confidence : two-sided level of the intervals
    label : text of the progress bar (default: the scenario name and the seed)
    max_memory_gb : refuse (``InputError``) a study whose replications running at once (one
        per local worker; one for another executor) are estimated to need more memory, GB
        (default 8, as ``shieldwall mc --max-memory-gb``; ``shieldwall.scenario.size``)

    Returns
    -------
    MonteCarloResult

    Raises
    ------
    StudyInterrupted : on Ctrl-C, after cancelling pending work and saving finished rows
    InputError : bad arguments (before anything is written), a study too large for
        ``max_memory_gb``, or a resume that does not match the stored study
    """
    t_start = time.perf_counter()
    check_study_arguments(n, seed, workers=workers, chunk_seconds=chunk_seconds,
                          chunk_rows=chunk_rows, batch_size=batch_size, confidence=confidence,
                          max_memory_gb=max_memory_gb)
    file = "<scenario>" if isinstance(scenario, Scenario) else str(scenario)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    n = int(n)
    seed = int(scenario.seed if seed is None else seed)
    _check_study_memory(scenario, file, n, executor, workers, max_memory_gb)
    perfect = bool(scenario.perfect_information if perfect_information is None
                   else perfect_information)
    shash = scenario_hash(scenario, perfect)
    study = _study_doc(scenario, seed, n, shash, perfect)

    out = None if outdir is None else Path(outdir)
    done: set[int] = set()
    if out is not None:
        # What may be written there: shieldwall.core.outputs (never a foreign directory).
        target = check_output_dir(out, "mc", overwrite=overwrite, resume=resume)
        if target.state == RESUME and (out / STUDY_FILE).exists():
            old, done = _resume_state(out, shash, seed, scenario.name, n)
            if old.get("version") != __version__:
                print(f"warning: resuming a study made by shieldwall {old.get('version')} "
                      f"with {__version__}", file=sys.stderr)
            for stale in (out / REPLICATIONS_DIR).glob(".part-*.tmp"):
                stale.unlink(missing_ok=True)  # left by a killed writer; never read
            n_old = int(old.get("n_requested") or n)
            if progress:
                change = ("" if n_old == n else
                          f" (the study was started for {n_old}; it now asks for {n})")
                print(f"resuming {out}: {len(done)} of {n} replications already done, "
                      f"running the {n - len(done)} missing{change}", file=sys.stderr)
            study["n_requested"] = n
        elif target.state == RESUME and _part_files(out / REPLICATIONS_DIR):
            raise InputError(str(out / STUDY_FILE), "missing: the replications of this study "
                                                    "cannot be resumed without it; pass "
                                                    "--overwrite to replace the study")
        prepare_directory_in_place(target)
        write_json_atomic(out / STUDY_FILE, study)
        write_json_atomic(out / SCENARIO_FILE, scenario.model_dump(mode="json"))
        write_json_atomic(out / RESOLVED_SCENARIO_FILE, resolved_scenario_doc(scenario))
        (out / REPLICATIONS_DIR).mkdir(exist_ok=True)

    todo = [i for i in range(n) if i not in done]
    task = ReplicationTask(scenario=scenario, seed=seed, scenario_hash=shash,
                           perfect_information=perfect_information, replicate=replicate)
    sink = _RowSink(None if out is None else out / REPLICATIONS_DIR, max_rows=chunk_rows,
                    max_age_s=chunk_seconds)
    bar = _Progress(progress, total=n, done=n - len(todo),
                    label=label or f"{scenario.name} (seed {seed})")
    runner = _Runner(task, executor, workers, mp_context, sink, bar, batch_size,
                     max_pool_restarts)
    try:
        runner.run(todo)
    except KeyboardInterrupt:
        runner.abort()
        sink.flush()
        bar.close()
        saved = (len(sink.rows) if out is None
                 else read_replications(out, columns=["replication"]).num_rows)
        raise StudyInterrupted(saved, n, out, seed) from None
    except BaseException:
        runner.abort()
        sink.flush()
        bar.close()
        raise
    sink.flush()
    bar.close()
    runner.close()

    if out is not None:
        table = read_replications(out)
    else:
        table = rows_to_table(sorted(sink.rows, key=lambda r: r["replication"])) \
            if sink.rows else pa.table({"replication": pa.array([], pa.int64())})
    summary = summarize_study(table, study, confidence)
    wall = time.perf_counter() - t_start
    info = {"wall_time_s": wall, "replications_run": runner.n_finished,
            "replications_per_s": runner.n_finished / wall if wall > 0 else None,
            "executor": runner.kind, "workers": runner.capacity,
            "pool_restarts": runner.restarts, "parts_written": sink.n_parts,
            "mean_replication_wall_s": _mean_col(table, "wall_time_s"),
            "mean_replication_cpu_s": _mean_col(table, "cpu_time_s")}
    if out is not None:
        write_json_atomic(out / SUMMARY_FILE, summary)
        write_json_atomic(out / RUN_INFO_FILE, info)
    return MonteCarloResult(summary=summary, table=table, outdir=out, n_run=runner.n_finished,
                            wall_time_s=wall, pool_restarts=runner.restarts, info=info)


def _check_study_memory(scenario: Scenario, file: str, n: int, executor: Any,
                        workers: int | None, max_memory_gb: float | None) -> None:
    """The run-size check of ``shieldwall mc``: one replication (no tables kept) per local
    worker at once, one for another executor."""
    from shieldwall.scenario.size import check_run_size, estimate_run_size

    at_once = min(int(workers or os.cpu_count() or 1), n) if executor is None else 1
    check_run_size(estimate_run_size(scenario, recorded=False), file, max_memory_gb,
                   workers=at_once)


def _mean_col(table: pa.Table, name: str) -> float | None:
    if name not in table.column_names or table.num_rows == 0:
        return None
    return _finite_mean(table.column(name).to_numpy(zero_copy_only=False))


class _Runner:
    """Submits batches of replication indices, collects rows, repairs a broken local pool."""

    def __init__(self, task: ReplicationTask, executor: Any, workers: int | None,
                 mp_context: str | None, sink: _RowSink, bar: _Progress,
                 batch_size: int | None, max_pool_restarts: int) -> None:
        self.task = task
        self.sink = sink
        self.bar = bar
        self.fixed_batch = batch_size
        self.max_restarts = max_pool_restarts
        self.workers = workers
        self.mp_context = mp_context
        self.owned = executor is None
        if executor is None:
            self.executor: Any = local_pool(workers, mp_context)
            self.kind = "local"
        elif hasattr(executor, "get_executor"):  # a distributed.Client
            self.executor = executor.get_executor(pure=False)
            self.kind = "dask"
        else:
            self.executor = executor
            self.kind = "dask" if hasattr(executor, "_client") else type(executor).__name__
        self.capacity = _capacity(self.executor)
        self.in_flight: dict[Future[list[dict[str, Any]]], tuple[int, ...]] = {}
        self.n_finished = 0
        self.restarts = 0
        self.mean_rep_s: float | None = None

    def _batch(self) -> int:
        if self.fixed_batch:
            return int(self.fixed_batch)
        if self.mean_rep_s is None:
            return 1
        # About 0.5 s of work per task on a local pool; a cluster task costs a longer round
        # trip (tens of ms through the scheduler), so it gets about 2 s of work.
        target_s = 0.5 if isinstance(self.executor, ProcessPoolExecutor) else 2.0
        return int(min(64, max(1, round(target_s / max(self.mean_rep_s, 1e-6)))))

    def _running(self) -> int:
        """Replications being computed now: the oldest in-flight batches, one per slot (a
        local pool and the Dask scheduler both hand out work in submission order)."""
        batches = list(self.in_flight.values())[:self.capacity]
        return sum(len(b) for b in batches)

    def _accept(self, rows: list[dict[str, Any]], running: int = 0) -> None:
        self.sink.add(rows)
        self.n_finished += len(rows)
        walls = [float(r["wall_time_s"]) for r in rows if "wall_time_s" in r]
        self.bar.advance(len(rows), sum(walls) if walls and len(walls) == len(rows) else None,
                         running, self.capacity)
        if walls:
            m = float(np.mean(walls))
            self.mean_rep_s = m if self.mean_rep_s is None else 0.8 * self.mean_rep_s + 0.2 * m

    def run(self, todo: Sequence[int]) -> None:
        remaining = deque(sorted(todo))
        fruitless = 0
        # A local pool needs little queued work; a cluster's round trip (client, scheduler,
        # worker and back) is longer, so it gets a deeper queue to stay busy.
        depth = 2 if self.owned or isinstance(self.executor, ProcessPoolExecutor) else 4
        max_in_flight = max(2 * depth, depth * self.capacity)
        while remaining or self.in_flight:
            broken = False
            while remaining and len(self.in_flight) < max_in_flight and not broken:
                size = min(self._batch(), len(remaining))
                batch = tuple(remaining.popleft() for _ in range(size))
                try:
                    fut = self.executor.submit(run_batch, self.task, batch)
                except BrokenProcessPool:
                    if not self.owned:
                        raise
                    remaining.extendleft(reversed(batch))
                    broken = True
                    break
                self.in_flight[fut] = batch
            if not broken:
                finished, _ = wait(list(self.in_flight), timeout=0.25,
                                   return_when=FIRST_COMPLETED)
                for fut in finished:
                    exc = fut.exception()
                    if exc is None:
                        del self.in_flight[fut]
                        self._accept(fut.result(), self._running())
                        fruitless = 0
                    elif isinstance(exc, BrokenProcessPool) and self.owned:
                        broken = True
                    else:
                        raise RuntimeError(f"replications {list(self.in_flight[fut])} failed: "
                                           f"{type(exc).__name__}: {exc}") from exc
            if broken:
                # Keep whatever finished before the pool broke; everything else runs again
                # on a fresh pool (rows are keyed by replication index: none is written twice).
                for fut, batch in self.in_flight.items():
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        self._accept(fut.result())
                    else:
                        remaining.extend(batch)
                self.in_flight.clear()
                remaining = deque(sorted(remaining))
                fruitless += 1
                self._check_restarts(fruitless)
                self._replace_pool(len(remaining))
            self.sink.maybe_flush()

    def _check_restarts(self, fruitless: int) -> None:
        if fruitless > self.max_restarts:
            raise WorkerCrashError(
                f"the worker pool broke {fruitless} times in a row without finishing a "
                "replication (a replication that kills its worker, or not enough memory)")

    def _replace_pool(self, n_remaining: int) -> None:
        self.restarts += 1
        print(f"warning: a worker process died; resubmitting {n_remaining} replications "
              "to a fresh pool", file=sys.stderr)
        _terminate_pool(self.executor)
        self.executor = local_pool(self.workers, self.mp_context)

    def abort(self) -> None:
        """Cancel pending work (and stop an owned pool's workers now)."""
        for fut in list(self.in_flight):
            fut.cancel()
        self.in_flight.clear()
        if self.owned:
            _terminate_pool(self.executor)
        elif self.kind == "dask" and hasattr(self.executor, "shutdown"):
            with contextlib.suppress(Exception):
                self.executor.shutdown(wait=False)

    def close(self) -> None:
        if self.owned:
            self.executor.shutdown(wait=True)


# --------------------------------------------------------------------------- the summary
def _prefixed(table: pa.Table, prefix: str, names: Sequence[str]) -> list[tuple[str, str]]:
    cols = set(table.column_names)
    return [(name, f"{prefix}{name}") for name in names if f"{prefix}{name}" in cols]


def summarize_study(table: pa.Table, study: Mapping[str, Any],
                    confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Means and confidence intervals of a study's rows (the content of ``summary.json``).

    Proportions (Wilson): ``any_leaker``, ``asset_damaged`` per asset. Means (Student t):
    leakers (total and by class), value lost (total and per asset), interceptors fired (total
    and per type), interceptor cost (USD), cost-exchange ratio. ``convergence`` gives the
    half-width of every interval after the first N replications, N = 10, 20, 50, ...
    """
    n = table.num_rows
    cols = {name: table.column(name).to_numpy(zero_copy_only=False)
            for name in table.column_names}
    assets = list(study.get("assets", []))
    classes = list(study.get("threat_classes", [c.value for c in THREAT_CLASSES]))
    interceptors = [c.removeprefix("fired_") for c in table.column_names
                    if c.startswith("fired_")]

    # (json section, key or None, column, kind)
    spec: list[tuple[str, str | None, str, str]] = [("proportions", None, "any_leaker",
                                                     "proportion")]
    spec += [("asset_damaged", a, c, "proportion")
             for a, c in _prefixed(table, "damaged_", assets)]
    spec += [("means", None, "leakers", "mean")]
    spec += [("leakers_by_class", k, c, "mean")
             for k, c in _prefixed(table, "leakers_", classes)]
    spec += [("means", None, "value_lost", "mean")]
    spec += [("value_lost_by_asset", a, c, "mean")
             for a, c in _prefixed(table, "value_lost_", assets)]
    spec += [("means", None, "interceptors_fired", "mean")]
    spec += [("interceptors_fired_by_type", k, c, "mean")
             for k, c in _prefixed(table, "fired_", interceptors)]
    spec += [("means", None, "interceptor_cost_usd", "mean"),
             ("means", None, "cost_exchange_ratio", "mean")]

    checkpoints = convergence_checkpoints(n)
    sections: dict[str, dict[str, Any]] = {
        k: {} for k in ("proportions", "asset_damaged", "means", "leakers_by_class",
                        "value_lost_by_asset", "interceptors_fired_by_type")}
    convergence: dict[str, list[float | None]] = {}
    for section, key, col, kind in spec:
        if col not in cols:
            continue
        x = cols[col]
        est = (estimate_proportion(x, confidence) if kind == "proportion"
               else estimate_mean(x, confidence))
        sections[section][key or col] = est.as_dict()
        convergence[col] = half_width_convergence(x, kind, checkpoints, confidence)

    reps = cols.get("replication", np.zeros(0, np.int64))
    missing = sorted(set(range(int(study.get("n_requested", n)))) - set(reps.tolist()))
    fates_mean = {f: _finite_mean(cols.get(f"fate_{f}")) for f in study.get("fates", [])}
    return {
        "scenario": study.get("scenario"),
        "scenario_hash": study.get("scenario_hash"),
        "seed": study.get("seed"),
        "version": __version__,
        "perfect_information": study.get("perfect_information"),
        "replications": n,
        "replications_requested": study.get("n_requested"),
        "complete": not missing,
        "confidence": confidence,
        "threats": _finite_mean(cols.get("threats")),
        "fates_mean": fates_mean,
        "proportions": {**sections["proportions"],
                        "asset_damaged": sections["asset_damaged"]},
        "means": {**sections["means"],
                  "leakers_by_class": sections["leakers_by_class"],
                  "value_lost_by_asset": sections["value_lost_by_asset"],
                  "interceptors_fired_by_type": sections["interceptors_fired_by_type"]},
        "convergence": {"n": checkpoints, "half_width": convergence},
    }


def _finite_mean(x: np.ndarray | None) -> float | None:
    if x is None or len(x) == 0:
        return None
    m = float(np.mean(np.asarray(x, float)))
    return m if math.isfinite(m) else None


# --------------------------------------------------------------------------- command line
def study_executor(workers: int | None, scheduler: str | None) -> tuple[Any, Any]:
    """(executor, client) for ``--workers`` / ``--scheduler``: (None, None) is the local pool.

    Raises ``InputError`` when both are given, or for a bad worker count or scheduler address.
    """
    if workers is not None and scheduler is not None:
        raise InputError("--workers", "give either --workers (local processes) or --scheduler "
                                      "(a Dask cluster), not both")
    if workers is not None and workers < 1:
        raise InputError("--workers", f"needs at least one worker, got {workers}")
    if scheduler is None:
        return None, None
    client = connect_dask(scheduler)
    return client.get_executor(pure=False), client


def run_study_command(scenario_file: str | Path, n: int, outdir: str | Path,
                      seed: int | None = None, workers: int | None = None,
                      scheduler: str | None = None, resume: bool = False,
                      chunk_seconds: float = 5.0, progress: bool = True,
                      overwrite: bool = False,
                      max_memory_gb: float | None = None) -> MonteCarloResult:
    """``shieldwall mc``: load, connect, run, print the headline estimates.

    Raises ``InputError`` for bad input and ``StudyInterrupted`` (with ``seed`` set) on Ctrl-C.
    """
    scenario = load_scenario(scenario_file)
    seed = int(scenario.seed if seed is None else seed)
    executor, client = study_executor(workers, scheduler)
    try:
        result = monte_carlo(scenario, n, seed=seed, executor=executor, outdir=outdir,
                             resume=resume, progress=progress, workers=workers,
                             chunk_seconds=chunk_seconds, overwrite=overwrite,
                             max_memory_gb=max_memory_gb)
    except StudyInterrupted as stop:
        stop.seed = seed
        raise
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
    print_study_summary(result.summary)
    print(f"results: {outdir}/ (replications.parquet/, summary.json); {result.n_run} "
          f"replications run in {result.wall_time_s:.1f} s "
          f"({result.n_run / max(result.wall_time_s, 1e-9):.2f} per s)")
    return result


def print_study_summary(summary: Mapping[str, Any]) -> None:
    """The headline estimates of a study as a rich table on stdout."""
    from rich.console import Console
    from rich.table import Table

    title = (f"{summary['scenario']} - seed {summary['seed']} - {summary['replications']} "
             "replications - notional figures")
    if summary.get("perfect_information"):
        title += " - PERFECT INFORMATION (study mode)"
    t = Table(title=title)
    for col, just in (("quantity", "left"), ("estimate", "right"), ("95 % CI", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:,.4g}"

    def add(label: str, est: Mapping[str, Any]) -> None:
        value = est.get("estimate", est.get("mean"))
        lo, hi = est["ci95"]
        t.add_row(label, fmt(value), f"[{fmt(lo)}, {fmt(hi)}]")

    add("P(any leaker)", summary["proportions"]["any_leaker"])
    for asset, est in summary["proportions"]["asset_damaged"].items():
        add(f"P({asset} damaged)", est)
    means = summary["means"]
    add("leakers", means["leakers"])
    for cls, est in means["leakers_by_class"].items():
        if est["mean"]:
            add(f"  leakers {cls}", est)
    add("value lost", means["value_lost"])
    add("interceptors fired", means["interceptors_fired"])
    for name, est in means["interceptors_fired_by_type"].items():
        add(f"  {name}", est)
    add("interceptor cost (USD)", means["interceptor_cost_usd"])
    add("cost exchange ratio", means["cost_exchange_ratio"])
    Console().print(t)
