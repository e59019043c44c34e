"""``shieldwall models`` (issue 14): every discovered reference check passes in its quick form,
the runner reports a failing or raising check without crashing, the command's exit codes and
refusals, and the report's JSON document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shieldwall.analysis.validation import runner as validation_runner
from shieldwall.analysis.validation.runner import discover, document, run_check
from shieldwall.analysis.validation.types import Check, CheckResult, Figure, Series
from shieldwall.cli import app
from shieldwall.core.outputs import MARKER

cli = CliRunner()
CHECKS = discover()


def test_checks_are_discovered_with_their_documentation() -> None:
    assert {"pd_vs_snr", "radar_horizon", "wta_optimum", "component_kill_vs_cep"} <= set(CHECKS)
    root = Path(__file__).resolve().parents[1]
    for check in CHECKS.values():
        assert (root / check.card).is_file(), f"{check.name}: model card {check.card} missing"
        assert check.reference.strip() and check.title.strip()


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_check_passes_quick(name: str) -> None:
    outcome = run_check(CHECKS[name], quick=True)
    assert outcome.error is None, outcome.error
    result = outcome.result
    assert result is not None and result.passed, (result.criterion, result.metrics)
    for figure in result.figures:
        assert any(s.reference for s in figure.series), f"{name}: a figure without reference"
        for s in figure.series:
            assert len(s.x) == len(s.y) > 0


def _fake(name: str, passed: bool | None) -> Check:
    def run(quick: bool) -> CheckResult:
        if passed is None:
            raise ZeroDivisionError("the model divided by zero")
        return CheckResult(passed=passed, criterion="x < 1", metrics={"x": 0.5, "nan": float(
            "nan")}, figures=[Figure("f", "a", "b", [Series("ours", [0.0, 1.0], [1.0, 2.0]),
                                                     Series("ref", [0.0], [1.0], True)])])
    return Check(name=name, title=name, model="m", card="docs/models/README.md",
                 reference="r", run=run)


def test_a_raising_check_is_an_error_outcome_and_the_document_is_plain_json() -> None:
    outcomes = [run_check(_fake("good", True), True), run_check(_fake("bad", False), True),
                run_check(_fake("boom", None), True)]
    assert [o.status for o in outcomes] == ["pass", "fail", "error"]
    assert "ZeroDivisionError" in (outcomes[2].error or "")
    doc = document(outcomes, quick=True, version="0")
    assert doc["counts"] == {"pass": 1, "fail": 1, "error": 1}
    text = json.dumps(doc, allow_nan=False)  # NaN metrics became null
    assert json.loads(text)["checks"][0]["metrics"]["nan"] is None


def test_models_command_writes_the_report_and_refuses_like_run(tmp_path: Path) -> None:
    out = tmp_path / "val"
    result = cli.invoke(app, ["models", "--only", "radar_horizon", "-o", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in doc["checks"]] == ["radar_horizon"]
    assert doc["checks"][0]["status"] == "pass" and doc["counts"]["pass"] == 1
    html = (out / "validation.html").read_text(encoding="utf-8")
    assert "radar_horizon" in html and "Plotly.newPlot" in html
    assert (out / MARKER).is_file()
    again = cli.invoke(app, ["models", "--only", "radar_horizon", "-o", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    assert cli.invoke(app, ["models", "--only", "radar_horizon", "-o", str(out),
                            "--overwrite"]).exit_code == 0
    foreign = tmp_path / "src"
    foreign.mkdir()
    (foreign / "main.c").write_text("code", encoding="utf-8")
    refused = cli.invoke(app, ["models", "--only", "radar_horizon", "-o", str(foreign)])
    assert refused.exit_code == 2 and (foreign / "main.c").read_text() == "code"


def test_unknown_check_is_exit_2_with_a_suggestion() -> None:
    result = cli.invoke(app, ["models", "--only", "radar_horizn"])
    assert result.exit_code == 2
    assert "did you mean 'radar_horizon'" in result.stderr and "--only" in result.stderr


def test_list_names_every_check() -> None:
    result = cli.invoke(app, ["models", "--list"])
    assert result.exit_code == 0
    for name in CHECKS:
        assert name in result.output


def test_a_failing_check_exits_1_and_still_writes_the_report(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    fakes = {c.name: c for c in (_fake("good", True), _fake("bad", False),
                                 _fake("boom", None))}
    monkeypatch.setattr(validation_runner, "discover", lambda: fakes)
    out = tmp_path / "val"
    result = cli.invoke(app, ["models", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "1 passed, 1 failed, 1 errors" in result.output
    doc = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert [c["status"] for c in doc["checks"]] == ["pass", "fail", "error"]
