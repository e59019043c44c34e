"""The fuzz harness itself: it flags what breaks the invariant and nothing that keeps it."""

from __future__ import annotations

import time
from pathlib import Path

import fuzzkit
import pytest
from fuzzkit import CaseTimeout, Findings, Outcome, exit_problems, invoke, time_bound


def _outcome(code: int | None, stderr: str = "", exception: BaseException | None = None,
             timed_out: bool = False) -> Outcome:
    return Outcome(["validate", "x.yaml"], code, "", stderr, exception, 0.0, timed_out)


def test_accepts_exit_0_and_a_proper_exit_2() -> None:
    assert exit_problems(_outcome(0), ["x.yaml"]) == []
    message = "error: x.yaml, line 3, field 'raid.waves[0].count': must be >= 1 (got 0)\n"
    assert exit_problems(_outcome(2, message), ["x.yaml"]) == []


@pytest.mark.parametrize(("outcome", "words"), [
    (_outcome(1), "exit code 1"),
    (_outcome(3, "error: x.yaml: boom"), "exit code 3"),
    (_outcome(2, ""), "without a message"),
    (_outcome(2, "error: other.yaml: bad value"), "does not name the input file"),
    (_outcome(2, "error: x.yaml: bad\n\nsecond paragraph"), "one 'error: ...' paragraph"),
    (_outcome(2, "x.yaml is bad"), "one 'error: ...' paragraph"),
    (_outcome(2, "error: x.yaml\nTraceback (most recent call last):"), "Traceback printed"),
    (_outcome(1, "", ValueError("oops")), "traceback ValueError"),
    (_outcome(None, "", CaseTimeout("no exit"), timed_out=True), "hang in"),
])
def test_flags_every_breach(outcome: Outcome, words: str) -> None:
    problems = exit_problems(outcome, ["x.yaml"])
    assert problems and any(words in signature for signature, _ in problems), problems


def test_time_bound_turns_a_hang_into_a_finding() -> None:
    t0 = time.perf_counter()
    with pytest.raises(CaseTimeout), time_bound(0.2):
        while True:
            pass
    assert time.perf_counter() - t0 < 2.0


def test_invoke_runs_the_cli_in_process(tmp_path: Path, example_path: Path) -> None:
    ok = invoke(["validate", example_path], 30.0)
    assert ok.exit_code == 0 and ok.stdout.startswith("OK: Capital region") and \
        exit_problems(ok, [example_path]) == []
    missing = tmp_path / "missing.yaml"
    bad = invoke(["validate", missing], 30.0)
    assert bad.exit_code == 2 and exit_problems(bad, [missing]) == []
    assert bad.stderr.startswith(f"error: {missing}")


def test_findings_keep_the_smallest_input_per_signature(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr(fuzzkit, "FINDINGS_DIR", None)
    findings = Findings("self-test")
    crash = _outcome(1, "", ValueError("oops"))
    assert not findings.check(crash, ["x.yaml"], b"long input", ".yaml")
    assert not findings.check(crash, ["x.yaml"], b"short", ".yaml")
    assert findings.check(_outcome(0), ["x.yaml"], b"fine", ".yaml")
    (finding,) = findings.items.values()
    assert finding.reproducer == b"short" and finding.count == 2
    with pytest.raises(AssertionError, match="1 distinct finding"):
        findings.assert_none()
