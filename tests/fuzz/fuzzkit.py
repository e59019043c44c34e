"""The fuzz harness's machinery: in-process CLI calls under a time bound, the invariant, findings.

The invariant (issue 12) for every generated input: the command either rejects it with exit 2
and ONE paragraph on stderr that names the input file, or completes with exit 0 and a whole
result -- never another exit code, an exception escaping, "Traceback" in the output, a hang
past the case's time bound, or a partial result presented as whole.

Cases run in-process (the ``shieldwall`` click command built once, called inside
``CliRunner.isolation`` with the same ``InputError`` -> exit 2 mapping as ``shieldwall.cli.main``),
which is ~50x faster than a subprocess. A violation is not raised at once: it is recorded as a
``Finding`` keyed by a signature (command, kind, where in shieldwall it happened) keeping the
smallest input, so that one campaign lists every distinct defect instead of stopping at the
first; the test fails at the end with all of them.

Environment:

- ``SHIELDWALL_FUZZ_CASES`` (default 1000): cases over all fuzz tests together, split by the
  weights in ``share``.
- ``SHIELDWALL_FUZZ_SEED``: hypothesis seed (default: derandomized, the same cases each run).
- ``SHIELDWALL_FUZZ_FINDINGS``: a directory; each finding's smallest input and a
  ``findings.jsonl`` line are written there.
"""

from __future__ import annotations

import faulthandler
import functools
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from hypothesis import HealthCheck, Phase, seed, settings
from typer.testing import CliRunner

from shieldwall.cli import app, report_input_error
from shieldwall.core.errors import InputError

TOTAL_CASES = int(os.environ.get("SHIELDWALL_FUZZ_CASES", "1000"))
FUZZ_SEED = os.environ.get("SHIELDWALL_FUZZ_SEED")
FINDINGS_DIR = os.environ.get("SHIELDWALL_FUZZ_FINDINGS")

# Share of TOTAL_CASES per fuzz test (sums to 1).
WEIGHTS = {
    "scenario_example": 0.25,
    "scenario_text": 0.20,
    "scenario_run": 0.02,
    "track_csv": 0.23,
    "track_sensor": 0.10,
    "wta": 0.20,
}
assert abs(sum(WEIGHTS.values()) - 1.0) < 1e-9


def share(name: str) -> int:
    """Number of cases of the fuzz test ``name``."""
    return max(1, round(TOTAL_CASES * WEIGHTS[name]))


def fuzz_settings(name: str) -> Callable[[Any], Any]:
    """hypothesis settings of one fuzz test: fixed seed, ``share(name)`` examples.

    The per-case deadline is ``time_bound`` inside ``invoke`` (it records a hang as a finding);
    hypothesis' own ``deadline`` is off, as its DeadlineExceeded would end the test and lose the
    other findings (a case stuck in compiled code returns late, after the alarm). No shrinking
    (a finding keeps the smallest input seen instead, and a hang would be re-run for minutes),
    no example database (the same cases every run unless SHIELDWALL_FUZZ_SEED).
    """
    s = settings(max_examples=share(name), deadline=None,
                 derandomize=FUZZ_SEED is None, database=None,
                 phases=(Phase.explicit, Phase.generate), print_blob=False,
                 suppress_health_check=list(HealthCheck))

    def apply(f: Any) -> Any:
        f = s(f)
        return seed(int(FUZZ_SEED))(f) if FUZZ_SEED is not None else f

    return apply


# ------------------------------------------------------------------------------ running a case
class CaseTimeout(BaseException):
    """Raised inside the case by the alarm: a BaseException, so ``except Exception`` in the
    code under test cannot swallow it."""


@contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Raise ``CaseTimeout`` in the case after ``seconds`` (SIGALRM, main thread). Code stuck in
    C for 4x longer (+60 s) kills the process with every thread's stack (faulthandler): a CI
    failure with a trace, never a stuck job."""
    def alarm(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"no exit within {seconds:g} s")

    faulthandler.dump_traceback_later(4 * seconds + 60, exit=True, file=sys.__stderr__)
    try:
        old = signal.signal(signal.SIGALRM, alarm)
    except ValueError:  # not the main thread: only the hard backstop
        old = None
    if old is not None:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if old is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        faulthandler.cancel_dump_traceback_later()


CASE_MEMORY_BYTES = 4 * 2**30  # address space a case may add before MemoryError


@contextmanager
def memory_bound(extra_bytes: int = CASE_MEMORY_BYTES) -> Iterator[None]:
    """Cap the address space at the current size + ``extra_bytes`` (RLIMIT_AS, soft limit,
    restored afterwards): a case that allocates without bound raises MemoryError -- a finding
    -- instead of the kernel's OOM killer ending the whole test run."""
    try:
        import resource

        size = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = size + extra_bytes
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@functools.cache
def _command() -> Any:
    return typer.main.get_command(app)


_runner = CliRunner()


@dataclass
class Outcome:
    """What one command did."""

    args: list[str]
    exit_code: int | None
    stdout: str
    stderr: str
    exception: BaseException | None
    seconds: float
    timed_out: bool = False


def invoke(args: Sequence[str], timeout_s: float) -> Outcome:
    """``shieldwall ARGS`` in-process, as ``shieldwall.cli.main`` runs it, under a time bound."""
    args = [str(a) for a in args]
    code: int | None = 0
    exception: BaseException | None = None
    timed_out = False
    t0 = time.perf_counter()
    with _runner.isolation() as streams:
        try:
            with time_bound(timeout_s), memory_bound():
                try:
                    _command().main(args=args, prog_name="shieldwall")
                except InputError as err:  # what main() does with an InputError that escapes
                    report_input_error(err)
                    code = 2
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except CaseTimeout as err:
            timed_out, code, exception = True, None, err
        except Exception as err:
            code, exception = 1, err
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        stdout = streams[0].getvalue().decode("utf-8", "replace")
        stderr = streams[1].getvalue().decode("utf-8", "replace")
    return Outcome(args, code, stdout, stderr, exception, time.perf_counter() - t0, timed_out)


def where(exc: BaseException) -> str:
    """``file:function:line`` of the innermost shieldwall frame of ``exc`` (else the innermost)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/shieldwall/" in f.filename and "/tests/" not in f.filename]
    f = (ours or frames or [None])[-1]
    if f is None:
        return "?"
    name = f.filename.split("/src/")[-1] if "/src/" in f.filename else Path(f.filename).name
    return f"{name}:{f.name}:{f.lineno}"


# -------------------------------------------------------------------------------- the invariant
def exit_problems(outcome: Outcome, files: Sequence[Path | str]) -> list[tuple[str, str]]:
    """(signature, detail) of every breach of the exit-code contract; [] when it holds.

    ``files``: the input files of the case; an exit-2 message must name one of them.
    """
    out: list[tuple[str, str]] = []
    if outcome.timed_out:
        assert outcome.exception is not None
        out.append((f"hang in {where(outcome.exception)}",
                    f"no exit within the time bound ({outcome.seconds:.1f} s)"))
        return out
    if outcome.exception is not None:
        exc = outcome.exception
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-6:])
        out.append((f"traceback {type(exc).__name__} in {where(exc)}",
                    f"{type(exc).__name__}: {str(exc)[:300]}\n{text[-1500:]}"))
        return out
    if outcome.exit_code not in (0, 2):
        out.append((f"exit code {outcome.exit_code}", outcome.stderr[-500:]))
    if "Traceback" in outcome.stderr or "Traceback" in outcome.stdout:
        out.append(("Traceback printed", outcome.stderr[-800:]))
    if outcome.exit_code == 2:
        message = outcome.stderr.strip()
        if not message:
            out.append(("exit 2 without a message", ""))
        else:
            if not any(str(f) in message for f in files):
                out.append(("exit 2 message does not name the input file",
                            f"files {[str(f) for f in files]}; message {message[:400]!r}"))
            if "\n\n" in message.replace("\r\n", "\n") or not message.startswith("error: "):
                out.append(("exit 2 message is not one 'error: ...' paragraph", message[:400]))
    return out


# -------------------------------------------------------------------------------------- findings
@dataclass
class Finding:
    signature: str
    command: str
    detail: str
    reproducer: bytes
    suffix: str
    extra: dict[str, Any] = field(default_factory=dict)
    count: int = 1


class Findings:
    """Distinct violations of one fuzz test, each with the smallest input that showed it."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.items: dict[str, Finding] = {}
        self.cases = 0
        self.outcomes: dict[str, int] = {}
        self.t0 = time.perf_counter()

    def tally(self, label: str) -> None:
        self.outcomes[label] = self.outcomes.get(label, 0) + 1

    def record(self, signature: str, command: str, detail: str, reproducer: bytes | str,
               suffix: str, **extra: Any) -> None:
        data = reproducer.encode("utf-8", "surrogatepass") if isinstance(reproducer, str) \
            else reproducer
        old = self.items.get(signature)
        if old is None:
            self.items[signature] = Finding(signature, command, detail, data, suffix, extra)
            self._live({"test": self.test, "signature": signature, "command": command,
                        "detail": detail[:2000], "input": data[:4000].decode("latin-1")})
        else:
            old.count += 1
            if len(data) < len(old.reproducer):
                old.reproducer, old.detail, old.command, old.extra = data, detail, command, extra

    def _live(self, record: dict[str, Any]) -> None:
        """Append to FINDINGS_DIR/live.jsonl at once (a campaign stopped by its time box keeps
        what it found)."""
        if FINDINGS_DIR:
            Path(FINDINGS_DIR).mkdir(parents=True, exist_ok=True)
            with (Path(FINDINGS_DIR) / "live.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def check(self, outcome: Outcome, files: Sequence[Path | str], reproducer: bytes | str,
              suffix: str, more: Sequence[tuple[str, str]] = (), **extra: Any) -> bool:
        """Record every exit-contract breach of ``outcome`` plus ``more``; True when none."""
        self.cases += 1
        if self.cases % 500 == 0:
            self._live({"test": self.test, "progress": self.cases,
                        "seconds": round(time.perf_counter() - self.t0, 1),
                        "outcomes": self.outcomes, "findings": len(self.items)})
        self.tally("timeout" if outcome.timed_out else f"exit {outcome.exit_code}")
        problems = [*exit_problems(outcome, files), *more]
        command = "shieldwall " + " ".join(outcome.args)
        for signature, detail in problems:
            self.record(f"{outcome.args[0]}: {signature}", command, detail, reproducer, suffix,
                        **extra)
        return not problems

    def report(self) -> str:
        lines = [f"{self.test}: {self.cases} cases in {time.perf_counter() - self.t0:.1f} s, "
                 f"outcomes {dict(sorted(self.outcomes.items()))}, "
                 f"{len(self.items)} distinct finding(s)"]
        for k, f in enumerate(self.items.values()):
            shown = f.reproducer[:700]
            cut = ", first 700" if len(f.reproducer) > 700 else ""
            lines.append(f"[{k + 1}] {f.signature} ({f.count} case(s))\n    command: {f.command}"
                         f"\n    detail: {f.detail[:900]}\n    smallest input "
                         f"({len(f.reproducer)} bytes{cut}): {shown!r}"
                         + (f"\n    extra: {f.extra}" if f.extra else ""))
        return "\n".join(lines)

    def save(self) -> None:
        if not FINDINGS_DIR:
            return
        d = Path(FINDINGS_DIR)
        d.mkdir(parents=True, exist_ok=True)
        with (d / "summary.txt").open("a", encoding="utf-8") as handle:
            handle.write(self.report().splitlines()[0] + "\n")
        for k, f in enumerate(self.items.values()):
            name = f"{self.test}-{k + 1}{f.suffix}"
            (d / name).write_bytes(f.reproducer)
            with (d / "findings.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"test": self.test, "signature": f.signature,
                                         "cases": f.count, "command": f.command,
                                         "detail": f.detail[:2000], "input": name,
                                         "extra": {k2: str(v) for k2, v in f.extra.items()}})
                             + "\n")

    @contextmanager
    def saved(self) -> Iterator[None]:
        """Save and print the findings even when the hypothesis run itself fails."""
        try:
            yield
        except BaseException:
            self.save()
            print(self.report())
            raise

    def assert_none(self) -> None:
        """Print the tally; fail with every finding."""
        self.save()
        print(self.report())
        assert not self.items, self.report()
