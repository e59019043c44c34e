"""The command line's small things: ``--version``, the one-line internal-error report with its
crash log (exit 1, distinct from exit 2 for bad input and 130 for Ctrl-C), and ``run``'s
progress (the engine's callback, the plain lines on a pipe, the bar on a terminal)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from rich.console import Console
from typer.testing import CliRunner

import shieldwall
import shieldwall.cli as cli
from shieldwall.engine import simulate
from shieldwall.engine.simulate import PROGRESS_EVERY_STEPS
from shieldwall.scenario import load_scenario
from tiny_scenario import tiny_document

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
CRASH_LINE = re.compile(
    r"^shieldwall: internal error \(ZeroDivisionError: division by zero\); the traceback is "
    r"in (?P<path>\S+shieldwall-crash-\d{8}-\d{6}-\d+\.log) - please report it$")


# ---------------------------------------------------------------- --version
@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flag_prints_the_package_version(flag: str) -> None:
    res = CliRunner().invoke(cli.app, [flag])
    assert res.exit_code == 0, res.output
    assert res.stdout == f"shieldwall {PYPROJECT_VERSION}\n"
    assert version("shieldwall") == shieldwall.__version__ == PYPROJECT_VERSION


def test_version_of_the_console_script() -> None:
    proc = subprocess.run([sys.executable, "-m", "shieldwall.cli", "--version"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"shieldwall {PYPROJECT_VERSION}\n",
                                                          "")


# ---------------------------------------------------------------- internal errors
def _boom(*args: object, **kwargs: object) -> None:
    return 1 / 0  # type: ignore[return-value]


def _run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["shieldwall", *args])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    code = stop.value.code
    return 0 if code is None else int(code)


def test_internal_error_is_one_line_and_a_crash_log(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    crash_dir = tmp_path / "crashes" / "nested"  # created on demand
    monkeypatch.setenv(cli.CRASH_DIR_ENV, str(crash_dir))
    monkeypatch.setattr(cli, "load_catalog", _boom)
    assert _run_main(monkeypatch, "catalog", "--json") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    match = CRASH_LINE.match(lines[0])
    assert match, lines[0]
    log = Path(match["path"])
    assert log.parent == crash_dir and [p.name for p in crash_dir.iterdir()] == [log.name]
    text = log.read_text(encoding="utf-8")
    assert f"shieldwall {PYPROJECT_VERSION} internal error" in text
    assert "command: shieldwall catalog --json" in text
    assert f"python {sys.version.split()[0]}" in text
    assert f"numpy {np.__version__}" in text
    # The whole traceback, down to the frame that raised.
    assert "Traceback (most recent call last):" in text
    assert "in _boom" in text and "return 1 / 0" in text
    assert text.rstrip().endswith("ZeroDivisionError: division by zero")


def test_crash_log_falls_back_to_the_temporary_directory(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the crash directory should be\n")
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv(cli.CRASH_DIR_ENV, str(blocker))
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    monkeypatch.setattr(cli, "load_catalog", _boom)
    assert _run_main(monkeypatch, "catalog") == 1
    match = CRASH_LINE.match(capsys.readouterr().err.strip())
    assert match and Path(match["path"]).parent == temp
    assert "ZeroDivisionError" in Path(match["path"]).read_text(encoding="utf-8")


def test_no_writable_crash_directory_prints_the_traceback(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(cli.CRASH_DIR_ENV, str(blocker))
    monkeypatch.setattr("tempfile.tempdir", str(blocker / "also-not-a-directory"))
    monkeypatch.setattr(cli, "load_catalog", _boom)
    assert _run_main(monkeypatch, "catalog") == 1
    err = capsys.readouterr().err
    assert err.startswith("shieldwall: internal error (ZeroDivisionError: division by zero); "
                          "no crash log could be written")
    assert "Traceback (most recent call last):" in err and "return 1 / 0" in err


def test_os_errors_are_labelled_system_errors(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    def full(*args: object) -> None:
        raise OSError(28, "No space left on device", "/data/out")

    monkeypatch.setenv(cli.CRASH_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(cli, "load_catalog", full)
    assert _run_main(monkeypatch, "catalog") == 1
    err = capsys.readouterr().err
    assert err.startswith("shieldwall: system error (OSError: [Errno 28] No space left on "
                          "device: '/data/out'); the traceback is in ")
    assert len(list(tmp_path.iterdir())) == 1


def test_ctrl_c_exits_130_without_a_crash_log(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setenv(cli.CRASH_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(cli, "load_catalog", interrupt)
    assert _run_main(monkeypatch, "catalog") == 130
    assert "internal error" not in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_exit_codes_and_bad_input_pass_through(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    def leave(*args: object) -> None:
        raise typer.Exit(code=3)

    monkeypatch.setenv(cli.CRASH_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(cli, "load_catalog", leave)
    assert _run_main(monkeypatch, "catalog") == 3
    missing = tmp_path / "missing.yaml"
    assert _run_main(monkeypatch, "validate", str(missing)) == 2
    assert capsys.readouterr().err.strip() == f"error: {missing}: file not found"
    assert list(tmp_path.iterdir()) == []


def test_internal_error_in_a_real_process(tmp_path: Path) -> None:
    """The console script's process: one line on stderr, exit 1, the log in the crash dir."""
    code = ("import sys, shieldwall.cli as c\n"
            "c.load_catalog = lambda *a, **k: 1 / 0\n"
            "sys.argv = ['shieldwall', 'catalog']\n"
            "c.main()\n")
    env = {**os.environ, cli.CRASH_DIR_ENV: str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    match = CRASH_LINE.match(proc.stderr.strip())
    assert match and Path(match["path"]).parent == tmp_path
    assert "Traceback" in Path(match["path"]).read_text(encoding="utf-8")


# ---------------------------------------------------------------- run progress
@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_document()), encoding="utf-8")
    return path


def _grid_progress_times(duration_s: float, dt_s: float) -> list[float]:
    """The simulated times at which the engine reports progress: every PROGRESS_EVERY_STEPS-th
    step of the grid 0, dt, ..., duration, and the end."""
    n_steps = int(np.floor(duration_s / dt_s + 1e-9)) + 1
    times = [k * dt_s for k in range(0, n_steps, PROGRESS_EVERY_STEPS)]
    last = (n_steps - 1) * dt_s
    return times if times[-1] == last else [*times, last]


def test_simulate_reports_progress_without_changing_the_run(tiny_path: Path) -> None:
    scenario = load_scenario(tiny_path)
    calls: list[tuple[float, float]] = []
    with_cb = simulate(scenario, seed=7, progress=lambda t, d: calls.append((t, d)))
    without = simulate(scenario, seed=7)
    doc = tiny_document()
    expected = _grid_progress_times(doc["duration_s"], doc["dt_s"])
    assert [t for t, _ in calls[:len(expected)]] == pytest.approx(expected)
    # The end is reported (once from the last grid step when it falls on the period, then
    # again after the loop): every call carries the duration, and time never goes back.
    assert {d for _, d in calls} == {doc["duration_s"]}
    assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:], strict=False))
    assert calls[-1][0] == doc["duration_s"]
    assert with_cb.summary == without.summary


def test_run_prints_plain_progress_lines_on_a_pipe(tiny_path: Path, tmp_path: Path) -> None:
    env = {**os.environ, cli.PROGRESS_INTERVAL_ENV: "0"}
    proc = subprocess.run([sys.executable, "-m", "shieldwall.cli", "run", str(tiny_path), "-o",
                           str(tmp_path / "out")], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0] == "simulating tiny (test) (3 threats, 150 s)"
    pattern = re.compile(r"^simulated (\d+)/150 s \((\d+) %\), ETA (unknown|\d+:\d\d:\d\d)$")
    matches = [pattern.match(line) for line in lines[1:]]
    assert all(matches), lines
    simulated = [int(m[1]) for m in matches if m]
    doc = tiny_document()
    assert simulated == [round(t) for t in _grid_progress_times(doc["duration_s"],
                                                                  doc["dt_s"])]
    assert [int(m[2]) for m in matches if m] == [round(100 * t / 150) for t in simulated]
    assert matches[0] and matches[0][3] == "unknown"  # no rate yet at t = 0
    assert "\x1b[" not in proc.stderr  # no terminal control codes in a log
    assert "results:" in proc.stdout


def test_default_interval_prints_only_the_end_of_a_short_run(tiny_path: Path,
                                                             tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != cli.PROGRESS_INTERVAL_ENV}
    res = CliRunner().invoke(cli.app, ["run", str(tiny_path), "-o", str(tmp_path / "o")],
                             env=env)
    assert res.exit_code == 0, res.output
    progress = [line for line in res.stderr.splitlines() if line.startswith("simulated")]
    # The tiny run's loop takes well under the 5 s default interval on any machine we run on,
    # so only the final line appears; never more than one line per 5 s.
    assert progress[-1] == "simulated 150/150 s (100 %), ETA 0:00:00"
    assert len(progress) <= 2


def test_bad_progress_interval_is_bad_input(tiny_path: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli.app, ["run", str(tiny_path), "-o", str(tmp_path / "o")],
                             env={cli.PROGRESS_INTERVAL_ENV: "soon"})
    assert res.exit_code == 2
    assert res.stderr.strip() == (f"error: environment variable {cli.PROGRESS_INTERVAL_ENV}: "
                                  "expected a number of seconds >= 0, got 'soon'")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("t", "d", "elapsed", "expected"), [
    (412.0, 900.0, 38.0, "simulated 412/900 s (46 %), ETA 0:00:45"),  # 38 * 488 / 412 = 45.0
    (0.0, 900.0, 0.0, "simulated 0/900 s (0 %), ETA unknown"),
    (450.0, 900.0, 3600.0, "simulated 450/900 s (50 %), ETA 1:00:00"),
    (900.0, 900.0, 12.0, "simulated 900/900 s (100 %), ETA 0:00:00"),
])
def test_progress_line_format(t: float, d: float, elapsed: float, expected: str) -> None:
    assert cli._format_progress(t, d, elapsed) == expected


def test_progress_bar_on_a_terminal() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120)
    with cli._run_progress(console, "simulating x", 150.0, 5.0) as progress:
        progress(75.0, 150.0)
        progress(150.0, 150.0)
    text = buf.getvalue()
    assert "150/150 s simulated" in text and "100%" in text
    assert "simulated 150/150 s (100 %)" not in text  # the bar, not the plain lines
