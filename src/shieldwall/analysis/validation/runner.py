"""Run the model reference checks and write the validation report (``shieldwall models``).

Checks are discovered, not registered: every module of ``shieldwall.analysis.validation.checks``
that defines ``CHECK`` (a ``types.Check``) is one. ``run_checks`` runs the chosen ones, timing
each and turning an exception inside a check into an ``error`` outcome (a defect of the model
or of the check, reported with its traceback, never a crash of the command). ``document``
makes the plain-data ``validation.json`` (docs/formats.md, "The validation report") that the
report layer draws (``shieldwall.report.validation``).
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from shieldwall.analysis.validation import checks as checks_package
from shieldwall.analysis.validation.types import Check, CheckResult

SCHEMA = "shieldwall.validation/1"

#: the outcome of a check, one word
PASS, FAIL, ERROR = "pass", "fail", "error"


def discover() -> dict[str, Check]:
    """Every check of the ``checks`` package by name, sorted by name.

    Raises ``RuntimeError`` when two modules declare the same name or ``CHECK`` is not a
    ``Check`` (a defect of the package, caught by the test suite).
    """
    found: dict[str, Check] = {}
    for info in pkgutil.iter_modules(checks_package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{checks_package.__name__}.{info.name}")
        check = getattr(module, "CHECK", None)
        if check is None:
            continue
        if not isinstance(check, Check):
            raise RuntimeError(f"{module.__name__}.CHECK is not a validation Check")
        if check.name in found:
            raise RuntimeError(f"check name {check.name!r} declared twice")
        found[check.name] = check
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class Outcome:
    """One check run: its result (None when it raised), the error text, the seconds."""

    check: Check
    result: CheckResult | None
    error: str | None
    seconds: float

    @property
    def status(self) -> str:
        if self.result is None:
            return ERROR
        return PASS if self.result.passed else FAIL


def run_check(check: Check, quick: bool) -> Outcome:
    """Run one check; an exception becomes an ``error`` outcome carrying its traceback."""
    t0 = time.perf_counter()
    try:
        result = check.run(quick)
        if not isinstance(result, CheckResult):
            raise TypeError(f"check {check.name} returned {type(result).__name__}, "
                            "not a CheckResult")
    except Exception:  # noqa: BLE001 - reported as the check's error, not a crash
        return Outcome(check, None, traceback.format_exc(limit=8),
                       time.perf_counter() - t0)
    return Outcome(check, result, None, time.perf_counter() - t0)


def run_checks(checks: Iterable[Check], quick: bool,
               progress: Callable[[Check, Outcome | None], None] | None = None
               ) -> list[Outcome]:
    """Run ``checks`` in order; ``progress(check, None)`` before and ``(check, outcome)``
    after each."""
    out = []
    for check in checks:
        if progress is not None:
            progress(check, None)
        outcome = run_check(check, quick)
        if progress is not None:
            progress(check, outcome)
        out.append(outcome)
    return out


def _finite(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    return x


def document(outcomes: Sequence[Outcome], quick: bool, version: str) -> dict[str, Any]:
    """The ``validation.json`` document (plain data; non-finite floats become null)."""
    entries = []
    for o in outcomes:
        c = o.check
        entry: dict[str, Any] = {
            "name": c.name, "title": c.title, "model": c.model, "card": c.card,
            "reference": c.reference, "status": o.status, "seconds": round(o.seconds, 3),
            "error": o.error,
        }
        if o.result is not None:
            r = asdict(o.result)
            entry.update(criterion=r["criterion"], metrics=r["metrics"],
                         figures=r["figures"], notes=r["notes"])
        else:
            entry.update(criterion="", metrics={}, figures=[], notes="")
        entries.append(_finite(entry))
    counts = {s: sum(o.status == s for o in outcomes) for s in (PASS, FAIL, ERROR)}
    return {"schema": SCHEMA, "shieldwall_version": version,
            "mode": "quick" if quick else "full", "counts": counts, "checks": entries}
