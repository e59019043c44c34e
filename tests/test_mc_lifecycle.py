"""Monte Carlo processes: clean shutdown, SIGTERM, honest resume state and progress estimate.

- ``kill -9`` of ``shieldwall mc`` must not leave the forkserver or its workers behind: the
  process tree is recorded while the study runs, the driver alone is killed, and every process
  of the tree must be gone within seconds.
- SIGTERM stops a study like Ctrl-C (exit 130, whole rows only, a resume hint) and
  ``--resume`` completes it to exactly N rows, each equal to the engine run directly.
- ``-n`` below the stored replications is refused (a study never drops rows); corrupt part
  files are named (exit 2), never deleted, for ``mc --resume``, ``sweep --resume`` and
  ``report``.
- The ETA estimator is checked on a synthetic clock against a simulated FIFO pool whose end
  time is known exactly.
"""

from __future__ import annotations

import heapq
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shieldwall.analysis.montecarlo import (
    NONDETERMINISTIC_COLUMNS,
    REPLICATIONS_DIR,
    EtaEstimator,
    _Progress,
    monte_carlo,
    read_replications,
    replication_row,
    scenario_hash,
    watch_driver,
)
from shieldwall.analysis.sweep import run_sweep
from shieldwall.cli import app
from shieldwall.engine import simulate
from shieldwall.scenario import Scenario, load_scenario
from tiny_scenario import tiny_document

SEED = 7


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mc_life") / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_document(seed=3), sort_keys=False))
    return path


@pytest.fixture(scope="module")
def tiny(tiny_file: Path) -> Scenario:
    return load_scenario(tiny_file)


def direct_rows(scenario: Scenario, indices: list[int]) -> pa.Table:
    """Rows of the given replications computed directly from the engine, in this process."""
    h = scenario_hash(scenario, False)
    rows = [replication_row(simulate(scenario, seed=SEED, replication=i,
                                     record=False).summary, h, 0.0) for i in indices]
    return pa.Table.from_pylist(rows).drop_columns(list(NONDETERMINISTIC_COLUMNS))


def _deterministic(table: pa.Table) -> pa.Table:
    return table.sort_by("replication").drop_columns(list(NONDETERMINISTIC_COLUMNS))


# ------------------------------------------------------------------ processes of a study
def _mc_process(tiny_file: Path, out: Path, n: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "shieldwall.cli", "mc", str(tiny_file), "-n", str(n), "-o",
         str(out), "--seed", str(SEED), "--workers", "2", "--chunk-seconds", "0.2", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)


def _wait_mid_run(proc: subprocess.Popen[bytes], out: Path, at_least: int,
                  timeout_s: float = 90.0) -> list[psutil.Process]:
    """Wait until ``at_least`` rows are on disk and both workers run; return the process
    tree below the driver (resource tracker, forkserver, workers)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        n = read_replications(out).num_rows if (out / REPLICATIONS_DIR).exists() else 0
        tree = psutil.Process(proc.pid).children(recursive=True)
        if n >= at_least and len(tree) >= 4:  # tracker + forkserver + 2 workers
            return tree
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"fewer than {at_least} rows after {timeout_s} s: "
                         f"{proc.communicate()[1].decode()[-2000:]}")


def _survivors(procs: list[psutil.Process], pgid: int, timeout_s: float) -> list[str]:
    """Processes of ``procs`` or of process group ``pgid`` still alive after ``timeout_s``."""
    _, alive = psutil.wait_procs(procs, timeout=timeout_s)
    left = {p.pid: p for p in alive}
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid:
                left[p.pid] = p
        except (ProcessLookupError, PermissionError):
            pass
    out = []
    for p in left.values():
        try:
            if p.status() != psutil.STATUS_ZOMBIE:  # exited, not yet reaped: no CPU, no memory
                out.append(f"{p.pid} {' '.join(p.cmdline())[:100]}")
        except psutil.NoSuchProcess:
            pass
    return out


def _kill_all(procs: list[psutil.Process]) -> None:
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


def test_watch_driver_ends_the_watcher_when_the_driver_exits(tmp_path: Path) -> None:
    # Both ways of watching: the pidfd and (without pidfd_open) polling; the killed driver is
    # left unreaped (a zombie), which polling by kill(pid, 0) alone would take for alive.
    for mode in ("pidfd", "poll"):
        driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        code = ("import os, time\n" + ("del os.pidfd_open\n" if mode == "poll" else "")
                + "from shieldwall.analysis.montecarlo import watch_driver\n"
                f"watch_driver({driver.pid}, poll_s=0.1)\nprint('watching', flush=True)\n"
                "time.sleep(120)\n")
        watcher = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        try:
            assert watcher.stdout is not None
            assert watcher.stdout.readline() == b"watching\n"
            time.sleep(0.3)
            assert watcher.poll() is None, "the watcher must wait while the driver lives"
            driver.kill()
            assert watcher.wait(timeout=10) == 1, mode
        finally:
            driver.kill()
            driver.wait()
            watcher.kill()
            watcher.wait()
    # A pid that is already gone: the caller exits at once.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    late = subprocess.run([sys.executable, "-c", "from shieldwall.analysis.montecarlo import "
                           f"watch_driver; watch_driver({gone.pid}); print('not reached')"],
                          capture_output=True, timeout=60)
    assert late.returncode == 1 and b"not reached" not in late.stdout
    assert watch_driver(os.getpid()) is not None  # this process is alive: a waiting thread


@pytest.mark.slow  # one study process with a pool of two workers: ~10-20 s on 2 busy cores
def test_kill_9_of_mc_leaves_no_process_behind(tiny_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "study"
    proc = _mc_process(tiny_file, out, 400)
    tree: list[psutil.Process] = []
    try:
        tree = _wait_mid_run(proc, out, 1)
        names = " ".join(" ".join(p.cmdline()) for p in tree)
        assert "forkserver" in names, names
        proc.kill()  # SIGKILL of the driver alone: nothing of it can run any more
        proc.wait(timeout=30)
        left = _survivors(tree, proc.pid, timeout_s=5.0)
        assert not left, f"processes outlived the killed study: {left}"
    finally:
        proc.kill()
        proc.communicate()
        _kill_all(tree)
    saved = read_replications(out)  # whole parts only, no duplicate
    assert 1 <= saved.num_rows < 400


@pytest.mark.slow  # two study processes with pools of two workers: ~30-60 s on 2 busy cores
def test_sigterm_stops_like_ctrl_c_and_resume_completes(tiny_file: Path, tiny: Scenario,
                                                        tmp_path: Path) -> None:
    n = 24
    out = tmp_path / "study"
    proc = _mc_process(tiny_file, out, n)
    tree: list[psutil.Process] = []
    try:
        tree = _wait_mid_run(proc, out, 2)
        proc.send_signal(signal.SIGTERM)  # the driver alone, as `kill PID` does
        _, err = proc.communicate(timeout=60)
        stderr = err.decode()
        assert proc.returncode == 130, stderr
        assert "Traceback" not in stderr
        assert "--resume" in stderr and f"--seed {SEED}" in stderr
        assert not _survivors(tree, proc.pid, timeout_s=5.0)
    finally:
        proc.kill()
        _kill_all(tree)
    saved = read_replications(out)
    reps = saved.column("replication").to_pylist()
    assert 2 <= len(reps) < n and len(set(reps)) == len(reps)
    assert f"{len(reps)} of {n} replications are saved" in stderr
    # Every saved row is whole: equal to the engine run of its replication.
    assert _deterministic(saved).equals(direct_rows(tiny, sorted(reps)))
    assert not (out / "summary.json").exists(), "an interrupted study must not look finished"

    proc = _mc_process(tiny_file, out, n, "--resume")
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert f"{len(reps)} of {n} replications already done" in err.decode()
    final = read_replications(out)
    assert final.column("replication").to_pylist() == list(range(n))
    assert _deterministic(final).equals(direct_rows(tiny, list(range(n))))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replications"] == n and summary["complete"]


# ------------------------------------------------------------------ resume: -n and corrupt parts
def _study(tiny: Scenario, out: Path, n: int) -> None:
    with ThreadPoolExecutor(2) as pool:
        monte_carlo(tiny, n, seed=SEED, executor=pool, outdir=out, progress=False,
                    chunk_seconds=0.0, batch_size=1)


def test_resume_with_fewer_replications_is_refused(tiny: Scenario, tiny_file: Path,
                                                   tmp_path: Path) -> None:
    out = tmp_path / "study"
    _study(tiny, out, 6)
    study_before = (out / "study.json").read_text()
    parts_before = sorted(p.name for p in (out / REPLICATIONS_DIR).iterdir())
    runner = CliRunner()
    args = ["mc", str(tiny_file), "-o", str(out), "--seed", str(SEED), "--resume"]
    res = runner.invoke(app, [*args, "-n", "3"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "6 finished replications" in res.output and "-n 6" in res.output
    assert "new output directory" in res.output
    # Nothing was touched.
    assert (out / "study.json").read_text() == study_before
    assert sorted(p.name for p in (out / REPLICATIONS_DIR).iterdir()) == parts_before

    same = runner.invoke(app, [*args, "-n", "6"])
    assert same.exit_code == 0, same.output
    assert "6 of 6 replications already done, running the 0 missing" in same.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replications"] == 6 and summary["replications_requested"] == 6
    assert summary["complete"]


def test_resume_may_lower_the_request_down_to_the_stored_rows(
        tiny: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A study started for 10 and stopped after 3 (study.json says 10): resuming with -n 5
    # runs 2 more and the summary says exactly what is there.
    out = tmp_path / "study"
    _study(tiny, out, 3)
    doc = json.loads((out / "study.json").read_text())
    doc["n_requested"] = 10
    (out / "study.json").write_text(json.dumps(doc))
    with ThreadPoolExecutor(2) as pool:
        res = monte_carlo(tiny, 5, seed=SEED, executor=pool, outdir=out, resume=True,
                          progress=True)
    err = capsys.readouterr().err
    assert "3 of 5 replications already done, running the 2 missing" in err
    assert "started for 10" in err
    assert res.n_run == 2
    assert res.table.column("replication").to_pylist() == [0, 1, 2, 3, 4]
    assert res.summary["replications"] == 5 and res.summary["replications_requested"] == 5
    assert res.summary["complete"]
    assert json.loads((out / "study.json").read_text())["n_requested"] == 5


def _corrupt(part: Path) -> None:
    data = part.read_bytes()
    part.write_bytes(data[: len(data) // 2])  # a part cut short (a disk full, a bad copy)


def test_corrupt_part_is_named_and_kept_on_resume_and_report(tiny: Scenario, tiny_file: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "study"
    _study(tiny, out, 4)
    parts = sorted((out / REPLICATIONS_DIR).glob("part-*.parquet"))
    assert len(parts) >= 2
    _corrupt(parts[-1])
    broken = parts[-1].read_bytes()
    runner = CliRunner()
    args = ["mc", str(tiny_file), "-n", "6", "-o", str(out), "--seed", str(SEED), "--resume"]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert parts[-1].name in res.output and "cannot read this part file" in res.output
    assert "move it out of" in res.output
    assert parts[-1].read_bytes() == broken, "the corrupt part must be left as it is"

    rep = runner.invoke(app, ["report", str(out)])
    assert rep.exit_code == 2, rep.output
    assert parts[-1].name in rep.output and "Traceback" not in rep.output

    # A readable parquet file that is not a part of this study (no replication column).
    parts[-1].rename(tmp_path / parts[-1].name)  # what the message tells the user to do
    pq.write_table(pa.table({"x": [1, 2]}), parts[-1].with_name("part-9999999999-x.parquet"))
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "part-9999999999-x.parquet" in res.output and "'replication'" in res.output
    (parts[-1].with_name("part-9999999999-x.parquet")).unlink()
    # With the corrupt part moved aside its replications run again: 6 whole rows.
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    table = read_replications(out)
    assert table.column("replication").to_pylist() == list(range(6))
    assert _deterministic(table).equals(direct_rows(tiny, list(range(6))))


def test_sweep_resume_checks_every_point_before_writing(tiny_file: Path,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    with ThreadPoolExecutor(2) as pool:
        run_sweep(tiny_file, ["doctrine.salvo.ballistic=1,2"], 2, out, seed=SEED,
                  executor=pool, progress=False, chunk_seconds=0.0, batch_size=1)
    index_before = (out / "sweep.json").read_text()
    part = sorted((out / "points" / "point-0001" / REPLICATIONS_DIR).glob("part-*"))[0]
    _corrupt(part)
    runner = CliRunner()
    args = ["sweep", str(tiny_file), "--set", "doctrine.salvo.ballistic=1,2", "-o", str(out),
            "--seed", str(SEED), "--resume"]
    res = runner.invoke(app, [*args, "-n", "3"])
    assert res.exit_code == 2, res.output
    assert part.name in res.output and "Traceback" not in res.output
    assert part.exists()
    assert (out / "sweep.json").read_text() == index_before
    rep = runner.invoke(app, ["report", str(out / "points" / "point-0001")])
    assert rep.exit_code == 2 and part.name in rep.output

    part.unlink()  # the test's own corruption; a user would move it aside
    fewer = runner.invoke(app, [*args, "-n", "1"])
    assert fewer.exit_code == 2, fewer.output
    assert "point-0000" in fewer.output and "-n 2" in fewer.output
    assert (out / "sweep.json").read_text() == index_before


# ------------------------------------------------------------------------- the ETA estimate
def _simulated_pool(slots: int, rep_s: float, startup_s: float, stagger_s: float,
                    n: int, batch: int) -> list[tuple[float, int, float, int]]:
    """Completions of a FIFO pool of ``slots`` workers (worker j starts at startup + j *
    stagger) running ``n`` replications of ``rep_s`` s in batches: (time, k, busy_s,
    replications being computed just after)."""
    queue = list(range(n))
    pending: list[tuple[float, int, int]] = []
    for j in range(slots):
        if queue:
            k = min(batch, len(queue))
            del queue[:k]
            heapq.heappush(pending, (startup_s + j * stagger_s + k * rep_s, j, k))
    events = []
    while pending:
        t, j, k = heapq.heappop(pending)
        if queue:
            k2 = min(batch, len(queue))
            del queue[:k2]
            heapq.heappush(pending, (t + k2 * rep_s, j, k2))
        events.append((t, k, k * rep_s, sum(p[2] for p in pending)))
    return events


def _etas(slots: int, rep_s: float, startup_s: float, stagger_s: float, n: int,
          batch: int) -> list[tuple[float, float]]:
    """(estimated, true) seconds left at every completion of the simulated pool."""
    clock = [0.0]
    est = EtaEstimator(n, clock=lambda: clock[0])
    assert est.eta() is None and est.rate is None
    events = _simulated_pool(slots, rep_s, startup_s, stagger_s, n, batch)
    end = events[-1][0]
    out = []
    for t, k, busy, running in events:
        clock[0] = t
        est.record(k, busy, running, slots)
        eta = est.eta()
        assert eta is not None
        out.append((eta, end - t))
    return out


def test_eta_first_results_of_two_workers_arriving_together() -> None:
    # The reported case: 8 replications of 1 s on 2 workers that need 3 s to start. Both
    # first results arrive at t = 4 s; 6 replications (3 s) are left. A rate from the gap
    # between the two arrivals would be infinite ("2/8 ETA 0:00:01").
    clock = [0.0]
    est = EtaEstimator(8, clock=lambda: clock[0])
    clock[0] = 4.0
    est.record(1, 1.0, running=2, slots=2)  # the other worker's result is still in flight
    assert est.eta() == pytest.approx(3.0)
    est.record(1, 1.0, running=2, slots=2)
    assert est.rate == pytest.approx(2.0)
    assert est.eta() == pytest.approx(3.0)
    clock[0] = 5.5  # counts down between completions
    assert est.eta() == pytest.approx(1.5)
    clock[0] = 60.0
    assert est.eta() == 0.0


def test_eta_counts_only_this_sessions_replications() -> None:
    # A resumed study of 1000 with 990 stored: the 990 rows (free, instant) are not work of
    # this session and cannot inflate the rate; 10 replications of 2 s on 2 workers after a
    # 1 s start-up take 10 s, and the estimate is exact at every completion.
    clock = [0.0]
    bar = _Progress(False, total=1000, done=990, label="resumed", clock=lambda: clock[0])
    events = _simulated_pool(slots=2, rep_s=2.0, startup_s=1.0, stagger_s=0.0, n=10, batch=1)
    end = events[-1][0]
    assert end == pytest.approx(11.0)
    for t, k, busy, running in events:
        clock[0] = t
        bar.advance(k, busy, running, 2)
        assert bar.estimator.eta() == pytest.approx(end - t, abs=1e-9)
        assert bar.estimator.rate == pytest.approx(1.0)


def test_eta_without_worker_times_falls_back_to_session_throughput() -> None:
    clock = [10.0]
    est = EtaEstimator(10, clock=lambda: clock[0])
    clock[0] = 14.0
    est.record(2)  # no worker times: 2 replications in the 4 s since the session started
    assert est.rate == pytest.approx(0.5)
    assert est.eta() == pytest.approx(16.0)


@settings(max_examples=300, deadline=None)
@given(slots=st.integers(1, 6), rep_s=st.floats(0.01, 30.0), startup_s=st.floats(0.0, 20.0),
       stagger=st.floats(0.0, 0.25), n=st.integers(1, 200), batch=st.integers(1, 4))
def test_eta_within_one_task_of_the_true_time_left(slots: int, rep_s: float,
                                                   startup_s: float, stagger: float, n: int,
                                                   batch: int) -> None:
    # Any pool start-up time, workers starting up to a quarter replication apart: at every
    # completion the estimate is off by at most one task (the last round may leave slots
    # idle, which no throughput estimate can see) plus the spread of the workers' starts.
    stagger_s = stagger * rep_s
    tol = batch * rep_s + (slots - 1) * stagger_s + 1e-9 * (1 + startup_s)
    for eta, true in _etas(slots, rep_s, startup_s, stagger_s, n, batch):
        assert abs(eta - true) <= tol, (eta, true)
