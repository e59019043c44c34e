"""The Python API of the studies checks its arguments before it writes anything: a bad
``n``, seed or option of ``monte_carlo``/``run_sweep`` is an ``InputError`` naming it and the
output path stays absent; ``monte_carlo`` refuses a study past its memory limit like
``shieldwall mc`` (``max_memory_gb`` raises it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from shieldwall.analysis.montecarlo import monte_carlo
from shieldwall.analysis.sweep import run_sweep
from shieldwall.core.errors import InputError
from shieldwall.scenario import load_scenario
from shieldwall.scenario.size import estimate_run_size
from tiny_scenario import tiny_document

BAD = [
    ({"n": 0}, "-n"), ({"n": 2.5}, "-n"), ({"n": True}, "-n"), ({"n": "4"}, "-n"),
    ({"seed": -1}, "--seed"), ({"seed": 2**63}, "--seed"), ({"seed": 1.5}, "--seed"),
    ({"workers": 0}, "--workers"), ({"chunk_seconds": float("nan")}, "--chunk-seconds"),
    ({"chunk_seconds": -1.0}, "--chunk-seconds"), ({"max_memory_gb": -1.0}, "--max-memory-gb"),
]


@pytest.fixture()
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_document()))
    return path


@pytest.mark.parametrize(("change", "flag"), BAD)
def test_monte_carlo_refuses_before_writing(tmp_path: Path, scenario_file: Path,
                                            change: dict, flag: str) -> None:
    args = {"n": 2, "seed": 1, **change}
    out = tmp_path / "study"
    with pytest.raises(InputError) as info:
        monte_carlo(scenario_file, args.pop("n"), outdir=out, progress=False, **args)
    assert info.value.field == flag
    assert not out.exists()


@pytest.mark.parametrize(("change", "flag"),
                         [c for c in BAD if c[1] in ("-n", "--seed", "--workers")])
def test_run_sweep_refuses_before_writing(tmp_path: Path, scenario_file: Path,
                                          change: dict, flag: str) -> None:
    args = {"n": 2, "seed": 1, **change}
    out = tmp_path / "sweep"
    with pytest.raises(InputError) as info:
        run_sweep(scenario_file, ["doctrine.salvo.ballistic=1,2"], args.pop("n"), out,
                  progress=False, **args)
    assert info.value.field == flag
    assert not out.exists()


def test_numpy_integers_are_accepted(tmp_path: Path, scenario_file: Path) -> None:
    result = monte_carlo(scenario_file, np.int64(2), seed=np.int64(3), workers=1,
                         progress=False, executor=None)
    assert result.table.num_rows == 2


def test_monte_carlo_checks_the_memory_of_the_replications_at_once(
        tmp_path: Path, scenario_file: Path) -> None:
    need = estimate_run_size(load_scenario(scenario_file), recorded=False).memory_gb
    out = tmp_path / "study"
    # Two workers at once need about twice one replication: refused below that, named.
    with pytest.raises(InputError, match="--max-memory-gb") as info:
        monte_carlo(scenario_file, 4, outdir=out, workers=2, progress=False,
                    max_memory_gb=1.5 * need)
    assert str(scenario_file) in str(info.value)
    assert not out.exists()
    result = monte_carlo(scenario_file, 2, outdir=out, workers=1, progress=False,
                         max_memory_gb=1.5 * need)
    assert result.table.num_rows == 2 and out.is_dir()
