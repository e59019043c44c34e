"""Monte Carlo studies: determinism across executors, worker crashes, kill and resume.

Reference: every replication row is compared with ``replication_row(simulate(scenario, seed,
i))`` computed directly in the test process, so the runner must reproduce the engine bit for bit
whatever the executor (one or two local processes, a Dask cluster of two worker processes on
loopback), the completion order, a worker killed mid-study, or the driver killed and resumed.
The scenario is a tiny fixture (three ballistic missiles against one Patriot battery, 150 s at
2.5 s steps) so that a replication takes a fraction of a second.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from shieldwall.analysis.montecarlo import (
    NONDETERMINISTIC_COLUMNS,
    REPLICATIONS_DIR,
    monte_carlo,
    read_replications,
    replication_row,
    run_replication,
    scenario_hash,
)
from shieldwall.cli import app
from shieldwall.engine import simulate
from shieldwall.scenario import Scenario, load_scenario
from tiny_scenario import tiny_document

ROOT = Path(__file__).resolve().parent.parent
SEED = 7
N_REF = 12


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mc") / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_document(seed=3), sort_keys=False))
    return path


@pytest.fixture(scope="module")
def tiny(tiny_file: Path) -> Scenario:
    return load_scenario(tiny_file)


def direct_rows(scenario: Scenario, n: int) -> pa.Table:
    """Rows 0..n-1 computed directly from the engine, in this process, in order."""
    h = scenario_hash(scenario, False)
    rows = [replication_row(simulate(scenario, seed=SEED, replication=i,
                                     record=False).summary, h, 0.0) for i in range(n)]
    return pa.Table.from_pylist(rows).drop_columns(list(NONDETERMINISTIC_COLUMNS))


@pytest.fixture(scope="module")
def reference(tiny: Scenario) -> pa.Table:
    return direct_rows(tiny, N_REF)


def _deterministic(table: pa.Table) -> pa.Table:
    return table.sort_by("replication").drop_columns(list(NONDETERMINISTIC_COLUMNS))


def _assert_rows(table: pa.Table, reference: pa.Table, n: int) -> None:
    reps = table.column("replication").to_pylist()
    assert sorted(reps) == list(range(n)), "every replication exactly once"
    got = _deterministic(table)
    assert got.schema == reference.schema
    assert got.equals(reference.slice(0, n)), "rows differ from the direct engine runs"


def test_reference_varies(reference: pa.Table) -> None:
    # The fixture must exercise randomness, or the equality tests would prove little.
    assert len(set(reference.column("leakers").to_pylist())) > 1
    assert len(set(reference.column("value_lost").to_pylist())) > 2


def test_local_pools_one_and_two_workers_bit_identical(tiny: Scenario, reference: pa.Table,
                                                       tmp_path: Path) -> None:
    one = monte_carlo(tiny, 8, seed=SEED, workers=1, progress=False)
    _assert_rows(one.table, reference, 8)
    two = monte_carlo(tiny, 12, seed=SEED, workers=2, outdir=tmp_path / "two",
                      progress=False, chunk_seconds=0.0)
    _assert_rows(two.table, reference, 12)
    on_disk = pq.read_table(tmp_path / "two" / REPLICATIONS_DIR)  # a plain dataset read
    _assert_rows(on_disk, reference, 12)
    assert set(on_disk.column("seed").to_pylist()) == {SEED}
    assert set(on_disk.column("scenario_hash").to_pylist()) == {scenario_hash(tiny, False)}
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert summary["replications"] == 12 and summary["complete"]
    assert summary["seed"] == SEED
    # The summary is computed from exactly these rows.
    leakers = reference.column("leakers").to_pylist()[:12]
    assert summary["means"]["leakers"]["mean"] == pytest.approx(sum(leakers) / 12)
    k = sum(x > 0 for x in leakers)
    assert summary["proportions"]["any_leaker"]["successes"] == k
    lo, hi = summary["means"]["value_lost"]["ci95"]
    assert lo <= summary["means"]["value_lost"]["mean"] <= hi
    assert summary["convergence"]["n"] == [10, 12]
    assert len(summary["convergence"]["half_width"]["leakers"]) == 2
    assert set(summary["proportions"]["asset_damaged"]) == {a.id for a in tiny.assets}
    assert set(summary["means"]["interceptors_fired_by_type"]) == {"pac3-mse", "pac2-gem-t"}


def test_any_executor_any_order(tiny: Scenario, reference: pa.Table) -> None:
    # A thread pool completes batches in arbitrary order; batch size 3 mixes the indices.
    with ThreadPoolExecutor(3) as pool:
        res = monte_carlo(tiny, 9, seed=SEED, executor=pool, progress=False, batch_size=2)
    _assert_rows(res.table, reference, 9)


def _crash_once(scenario: Scenario, seed: int, replication: int, *, marker: str,
                victim: int, **kwargs: Any) -> dict[str, Any]:
    """Kill the worker process the first time replication ``victim`` runs."""
    if replication == victim and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(17)
    return run_replication(scenario, seed, replication, **kwargs)


def test_worker_killed_mid_study_every_replication_once(tiny: Scenario, reference: pa.Table,
                                                        tmp_path: Path) -> None:
    marker = tmp_path / "crashed"
    replicate = functools.partial(_crash_once, marker=str(marker), victim=5)
    res = monte_carlo(tiny, 8, seed=SEED, workers=2, outdir=tmp_path / "study",
                      progress=False, replicate=replicate, chunk_seconds=0.0)
    assert marker.exists(), "the victim replication must have killed its worker"
    assert res.pool_restarts >= 1
    _assert_rows(res.table, reference, 8)
    _assert_rows(read_replications(tmp_path / "study"), reference, 8)


@pytest.fixture(scope="module")
def dask_cluster() -> Any:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    yield cluster
    cluster.close()


def test_dask_cluster_bit_identical(tiny: Scenario, reference: pa.Table, dask_cluster: Any,
                                    tmp_path: Path, tiny_file: Path) -> None:
    from distributed import Client

    with Client(dask_cluster.scheduler_address) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        res = monte_carlo(tiny, 8, seed=SEED, executor=client, progress=False)
        _assert_rows(res.table, reference, 8)
        res = monte_carlo(tiny, 4, seed=SEED, executor=client.get_executor(),
                          progress=False)
        _assert_rows(res.table, reference, 4)
    # The command line with --scheduler.
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["mc", str(tiny_file), "-n", "6", "-o", str(out),
                                      "--seed", str(SEED), "--scheduler",
                                      dask_cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    _assert_rows(read_replications(out), reference, 6)


def test_dask_worker_lost_task_rescheduled_once(tiny: Scenario, reference: pa.Table,
                                                dask_cluster: Any, tmp_path: Path) -> None:
    import cloudpickle
    from distributed import Client

    # Ship this module's crash function by value: the Dask workers cannot import tests/.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "crashed"
    replicate = functools.partial(_crash_once, marker=str(marker), victim=2)
    try:
        with Client(dask_cluster.scheduler_address) as client:
            res = monte_carlo(tiny, 6, seed=SEED, executor=client, progress=False,
                              replicate=replicate, batch_size=1)
            assert marker.exists(), "the victim replication must have killed its worker"
            client.wait_for_workers(2, timeout=60)  # the nanny restarts the worker
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    _assert_rows(res.table, reference, 6)


def _mc_process(tiny_file: Path, out: Path, n: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "shieldwall.cli", "mc", str(tiny_file), "-n", str(n), "-o",
         str(out), "--seed", str(SEED), "--workers", "2", "--chunk-seconds", "0.2", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)


def _wait_for_rows(proc: subprocess.Popen[bytes], out: Path, at_least: int,
                   timeout_s: float = 60.0) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        assert proc.poll() is None, "the study ended before it could be interrupted"
        n = read_replications(out).num_rows if (out / REPLICATIONS_DIR).exists() else 0
        if n >= at_least:
            return n
        time.sleep(0.1)
    raise AssertionError(f"fewer than {at_least} rows after {timeout_s} s")


@pytest.mark.slow  # three command-line processes, each starting a pool: ~30-50 s on 2 cores
def test_interrupt_kill_and_resume_equal_uninterrupted(tiny_file: Path, tiny: Scenario,
                                                       tmp_path: Path) -> None:
    n = 40
    out = tmp_path / "study"
    # 1. Ctrl-C: a clean stop with exit 130, finished chunks kept, a resume hint.
    proc = _mc_process(tiny_file, out, n)
    _wait_for_rows(proc, out, 2)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "--resume" in err.decode() and f"--seed {SEED}" in err.decode()
    saved = read_replications(out).num_rows
    assert 2 <= saved < n
    # 2. Resume, then SIGKILL the whole process group after more chunks land.
    proc = _mc_process(tiny_file, out, n, "--resume")
    _wait_for_rows(proc, out, saved + 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = read_replications(out)  # complete parts only, no duplicates
    assert saved + 2 <= killed_at.num_rows < n
    # 3. Resume to the end: exactly n unique replications, equal to the direct runs.
    proc = _mc_process(tiny_file, out, n, "--resume")
    stdout, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    final = read_replications(out)
    _assert_rows(final, direct_rows(tiny, n), n)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replications"] == n and summary["complete"]


def test_resume_refuses_other_seed_or_scenario(tiny: Scenario, tiny_file: Path,
                                               tmp_path: Path) -> None:
    out = tmp_path / "study"
    with ThreadPoolExecutor(1) as pool:
        monte_carlo(tiny, 2, seed=SEED, executor=pool, outdir=out, progress=False)
    runner = CliRunner()
    args = ["mc", str(tiny_file), "-n", "4", "-o", str(out)]

    other_seed = runner.invoke(app, [*args, "--seed", str(SEED + 1), "--resume"])
    assert other_seed.exit_code == 2
    assert "seed" in other_seed.output and f"--seed {SEED}" in other_seed.output
    assert "Traceback" not in other_seed.output

    changed = tiny_document(seed=3)
    changed["raid"]["waves"][0]["count"] = 4
    other_file = tmp_path / "other.yaml"
    other_file.write_text(yaml.safe_dump(changed))
    other = runner.invoke(app, ["mc", str(other_file), "-n", "4", "-o", str(out),
                                "--seed", str(SEED), "--resume"])
    assert other.exit_code == 2
    assert "different scenario" in other.output

    again = runner.invoke(app, [*args, "--seed", str(SEED)])
    assert again.exit_code == 2 and "--resume" in again.output

    both = runner.invoke(app, [*args, "--workers", "2", "--scheduler", "tcp://x:1"])
    assert both.exit_code == 2 and "not both" in both.output
    # Nothing was added by the refused runs.
    assert read_replications(out).column("replication").to_pylist() == [0, 1]


def test_resume_in_process_runs_only_missing(tiny: Scenario, reference: pa.Table,
                                             tmp_path: Path) -> None:
    out = tmp_path / "study"
    calls: list[int] = []

    def counting(scenario: Scenario, seed: int, i: int, **kw: Any) -> dict[str, Any]:
        calls.append(i)
        return run_replication(scenario, seed, i, **kw)

    with ThreadPoolExecutor(2) as pool:
        monte_carlo(tiny, 4, seed=SEED, executor=pool, outdir=out, progress=False,
                    replicate=counting)
        res = monte_carlo(tiny, 7, seed=SEED, executor=pool, outdir=out, resume=True,
                          progress=False, replicate=counting)
    assert sorted(calls) == list(range(7))
    assert res.n_run == 3
    _assert_rows(res.table, reference, 7)
