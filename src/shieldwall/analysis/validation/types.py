"""The vocabulary of the model validation report (``shieldwall models``, issue 14).

A *check* runs one model of the engine against an independent reference (an analytic result,
a published curve, a second method) and says, with numbers, whether they agree inside a stated
tolerance. Each check is a module in ``shieldwall.analysis.validation.checks`` exposing one
module-level ``CHECK: Check``; the runner discovers them (``pkgutil``), so adding a check
edits no shared file. Results are plain data (floats, strings, lists) so that the runner can
write them to ``validation.json`` and the report layer can draw them without importing any
model.

Example of a check module::

    from shieldwall.analysis.validation.types import Check, CheckResult, Figure, Series

    def run(quick: bool) -> CheckResult:
        x = ...; ours = ...; ref = ...
        err = float(np.max(np.abs(ours - ref)))
        return CheckResult(
            passed=err < 0.01,
            criterion="max |ours - reference| < 0.01",
            metrics={"max_abs_error": err},
            figures=[Figure(title="...", x_label="...", y_label="...", series=[
                Series("shieldwall", x.tolist(), ours.tolist()),
                Series("reference (Author year, eq. n)", x.tolist(), ref.tolist(),
                       reference=True)])])

    CHECK = Check(name="pd_vs_snr", title="Pd against SNR, Swerling 1",
                  model="sensors.detection", card="docs/models/radar_detection.md",
                  reference="Skolnik, Radar Handbook 3rd ed., ch. 2", run=run)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Series:
    """One line of a figure: ``y`` against ``x`` (same length, finite floats).

    ``reference=True`` marks the independent reference (drawn dashed); ``style`` may be
    ``"line"`` (default) or ``"points"``.
    """

    label: str
    x: list[float]
    y: list[float]
    reference: bool = False
    style: str = "line"


@dataclass(frozen=True)
class Figure:
    """One chart of a check: series sharing axes; ``log_x``/``log_y`` for log axes."""

    title: str
    x_label: str
    y_label: str
    series: list[Series]
    log_x: bool = False
    log_y: bool = False


@dataclass(frozen=True)
class CheckResult:
    """What a check found.

    Attributes
    ----------
    passed : the model agrees with the reference inside the criterion.
    criterion : the acceptance rule in words and numbers ("|miss - Zarchan| < 5 % at ...").
    metrics : the measured numbers the criterion is decided on (name -> float).
    figures : the curves (ours and the reference) for the report.
    notes : anything the reader should know (envelope, what was not covered).
    """

    passed: bool
    criterion: str
    metrics: dict[str, float] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    notes: str = ""


@dataclass(frozen=True)
class Check:
    """One reference check of one model.

    Attributes
    ----------
    name : identifier, snake_case, unique (``shieldwall models --only NAME``).
    title : one line for the report.
    model : the model checked, as the module path under ``shieldwall`` (``weapons.flyout``).
    card : the model card documenting it, a path in the repository (``docs/models/x.md``).
    reference : the independent reference, cited (author, title, year, equation/figure).
    run : ``run(quick)``; ``quick=True`` must finish in a few seconds (it runs in
        ``make test`` and by default in ``shieldwall models``); ``quick=False`` may take
        minutes (more Monte Carlo samples, finer grids).
    """

    name: str
    title: str
    model: str
    card: str
    reference: str
    run: Callable[[bool], CheckResult]
