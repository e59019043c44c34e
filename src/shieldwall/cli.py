"""The ``shieldwall`` command line (docs/formats.md §1).

Exit 0 on success, 2 on bad input with a one-paragraph message on stderr
(``error: <file>, line L, field 'x': message``), never a traceback for the user's mistakes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from shieldwall.core.errors import InputError


# The catalog and scenario layers (pydantic models, YAML, geography) cost about half a second
# of start-up; commands that do not read a scenario (``track``, ``--help``) never import them.
def load_scenario(path: Path) -> Any:
    """``shieldwall.scenario.load_scenario`` (imported on first use)."""
    from shieldwall.scenario import load_scenario as load

    return load(path)


def scenario_json_schema() -> Any:
    """``shieldwall.scenario.scenario_json_schema`` (imported on first use)."""
    from shieldwall.scenario import scenario_json_schema as schema_of

    return schema_of()


def load_catalog() -> Any:
    """``shieldwall.catalog.load_catalog`` (imported on first use)."""
    from shieldwall.catalog import load_catalog as load

    return load()


def catalog_table_rows(records: Any) -> Any:
    """``shieldwall.catalog.catalog_table_rows`` (imported on first use)."""
    from shieldwall.catalog import catalog_table_rows as rows_of

    return rows_of(records)


app = typer.Typer(
    name="shieldwall",
    help="Open simulator and planner for integrated air and missile defense "
         "(notional figures from public sources; analysis and education only).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_BAD_INPUT = 2


def report_input_error(err: InputError) -> None:
    """Print ``err`` as one paragraph on stderr."""
    typer.echo(f"error: {err.render()}", err=True)


@contextmanager
def input_errors() -> Iterator[None]:
    """Turn an ``InputError`` raised inside a command into the message and exit code 2."""
    try:
        yield
    except InputError as err:
        report_input_error(err)
        raise typer.Exit(code=EXIT_BAD_INPUT) from None


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"shieldwall {package_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option(
        "--version", "-V", help="Print the version and exit.", callback=_print_version,
        is_eager=True)] = False,
) -> None:
    pass


#: ``--max-memory-gb`` of run / validate / mc / sweep (see ``shieldwall.scenario.size``).
MaxMemoryOption = Annotated[float | None, typer.Option(
    "--max-memory-gb", help="Refuse a run (mc, sweep: the replications running at once) "
    "estimated to need more memory than this, GB (default 8).")]


def check_run_options(seed: int | None = None, n: int | None = None,
                      workers: int | None = None, chunk_seconds: float | None = None,
                      max_memory_gb: float | None = None,
                      max_replications: int | None = None) -> None:
    """``InputError`` naming the flag for a seed outside [0, 2**63), ``-n`` below 1,
    ``--workers`` below 1, a ``--chunk-seconds`` or ``--max-memory-gb`` that is not a finite
    positive number, or ``--max-replications`` below 1."""
    import math

    from shieldwall.scenario.models import MAX_SEED

    where = "<command line>"
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise InputError(where, f"the seed must be an integer from 0 to 2**63 - 1, got {seed}",
                         field="--seed")
    if n is not None and n < 1:
        raise InputError(where, f"the number of replications must be at least 1, got {n}",
                         field="-n")
    if workers is not None and workers < 1:
        raise InputError(where, f"needs at least one worker, got {workers}", field="--workers")
    for flag, value in (("--chunk-seconds", chunk_seconds), ("--max-memory-gb", max_memory_gb)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InputError(where, f"expected a positive number, got {value}", field=flag)
    if max_replications is not None and max_replications < 1:
        raise InputError(where, f"expected at least 1, got {max_replications}",
                         field="--max-replications")


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    max_memory_gb: MaxMemoryOption = None,
) -> None:
    """Check a scenario file (structure, catalog names, geography, size) without running it."""
    from shieldwall.scenario.size import check_run_size, estimate_run_size

    with input_errors():
        check_run_options(max_memory_gb=max_memory_gb)
        loaded = load_scenario(scenario)
        estimate = estimate_run_size(loaded)
        check_run_size(estimate, str(scenario), max_memory_gb)
    typer.echo(f"OK: {loaded.name}: {len(loaded.assets)} assets, {len(loaded.batteries)} "
               f"batteries, {loaded.n_threats} threats in {len(loaded.raid.waves)} waves")
    typer.echo(f"size of a run: {estimate.describe()}")


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write to this file instead of stdout "
                                                "(an existing file is replaced; never a "
                                                "directory or a device).")]
    = None,
) -> None:
    """Print the JSON Schema of the scenario file (for editors' autocompletion)."""
    text = json.dumps(scenario_json_schema(), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    from shieldwall.core.outputs import atomic_output_file

    with input_errors():
        try:
            with atomic_output_file(output) as handle:
                handle.write(text)
        except OSError as err:
            raise InputError(str(output), f"cannot write the file ({err.strerror})") from None
    typer.echo(f"wrote {output}", err=True)


@app.command()
def catalog(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable rows.")] = False,
) -> None:
    """List the notional systems, interceptors, radars and threats with their sources."""
    records = load_catalog()
    rows = catalog_table_rows(records)
    if as_json:
        typer.echo(json.dumps([row.as_dict() for row in rows], indent=2))
        return
    table = Table(title="shieldwall catalog (NOTIONAL figures from public sources)",
                  show_lines=False)
    for column in ("kind", "name", "label", "key figures", "source"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.kind, row.name, row.label, row.summary, row.source)
    console = Console(width=max(Console().width, 160))
    console.print(table)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Results directory to write: a "
                                      "new path or an empty directory (never a file or a "
                                      "directory of other files).")],
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: the scenario's).")]
    = None,
    perfect_information: Annotated[bool, typer.Option(
        "--perfect-information", help="Study mode: the battle manager sees truth, not tracks "
        "(labelled in every output).")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace OUT if it holds the results of an earlier run (replaced "
        "only once the new one is complete).")] = False,
    max_memory_gb: MaxMemoryOption = None,
) -> None:
    """Run one raid: write summary.json, the parquet tables and report.html into OUT."""
    from shieldwall.analysis.results import write_run_directory
    from shieldwall.core.outputs import check_output_dir
    from shieldwall.engine import simulate
    from shieldwall.scenario.size import check_run_size, estimate_run_size

    with input_errors():
        check_run_options(seed=seed, max_memory_gb=max_memory_gb)
        loaded = load_scenario(scenario)
        check_run_size(estimate_run_size(loaded), str(scenario), max_memory_gb)
        check_output_dir(out, "run", overwrite=overwrite)  # before the simulation, not after
    with input_errors():
        interval_s = _progress_interval_s()
    label = f"simulating {loaded.name} ({loaded.n_threats} threats, {loaded.duration_s:.0f} s)"
    with _run_progress(Console(stderr=True), label, loaded.duration_s, interval_s) as progress:
        result = simulate(loaded, seed=seed,
                          perfect_information=True if perfect_information else None,
                          progress=progress)
    result.summary["scenario_file"] = str(scenario)
    run_info = {"wall_time_s": result.wall_time_s, "scenario_file": str(scenario),
                "speedup_vs_real_time": result.summary["duration_s"] / result.wall_time_s}
    with input_errors():
        write_run_directory(out, result.summary, result.scenario_doc, result.tables,
                            run_info=run_info, finalize=_write_run_outputs, overwrite=overwrite)
    print_summary(result.summary, Console())
    typer.echo(f"results: {out}/ (summary.json, events.parquet, truth.parquet, "
               f"tracks.parquet, report.html, run.geojson, run.kml, run.czml); "
               f"{result.wall_time_s:.1f} s wall time, "
               f"{run_info['speedup_vs_real_time']:.0f}x real time")


#: Seconds between ``run``'s plain progress lines when stderr is not a terminal (default 5).
PROGRESS_INTERVAL_ENV = "SHIELDWALL_PROGRESS_INTERVAL_S"


def _progress_interval_s() -> float:
    import math
    import os

    text = os.environ.get(PROGRESS_INTERVAL_ENV, "").strip()
    if not text:
        return 5.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InputError(f"environment variable {PROGRESS_INTERVAL_ENV}",
                         f"expected a number of seconds >= 0, got {text!r}")
    return value


def _format_progress(t_s: float, duration_s: float, elapsed_s: float) -> str:
    """``simulated 412/900 s (46 %), ETA 0:00:31`` (ETA from the wall time so far)."""
    from datetime import timedelta

    frac = t_s / duration_s if duration_s > 0 else 1.0
    eta = (timedelta(seconds=round(elapsed_s * (1.0 - frac) / frac)) if frac > 0
           else "unknown")
    return f"simulated {t_s:.0f}/{duration_s:.0f} s ({100 * frac:.0f} %), ETA {eta}"


@contextmanager
def _run_progress(console: Console, label: str, duration_s: float,
                  interval_s: float) -> Iterator[Callable[[float, float], None]]:
    """A ``progress(t_s, duration_s)`` callback for ``simulate``: a rich bar (simulated time,
    %, ETA) on a terminal, else one plain line every ``interval_s`` of wall time and at the
    end (CI logs, pipes)."""
    import time

    if console.is_terminal:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        with Progress(TextColumn("simulating"), BarColumn(),
                      TextColumn("{task.completed:.0f}/{task.total:.0f} s simulated"),
                      TaskProgressColumn(), TimeRemainingColumn(), console=console,
                      transient=True) as bar:
            task = bar.add_task("simulating", total=duration_s)
            yield lambda t, d: bar.update(task, completed=t, total=d)
        return

    typer.echo(label, err=True)
    start: float | None = None  # wall time of the first step (set-up and compilation excluded)
    last = time.perf_counter()
    last_t = -1.0

    def plain(t_s: float, d_s: float) -> None:
        nonlocal start, last, last_t
        now = time.perf_counter()
        if start is None:
            start = now
        if t_s != last_t and (now - last >= interval_s or t_s >= d_s):
            last, last_t = now, t_s
            typer.echo(_format_progress(t_s, d_s, now - start), err=True)

    yield plain


def _write_run_outputs(outdir: Path) -> list[Path]:
    """The report and the exports of one run: every page is rendered first, then each file
    replaces its old version atomically, so a bad input leaves every file as it was. (Inside
    ``run`` this writes into the run's temporary directory, so the results directory appears
    whole or not at all.)"""
    from shieldwall.report import load_run, render_report, write_text_atomic
    from shieldwall.report.document import REPORT_NAME
    from shieldwall.report.exports import render_exports

    texts = {REPORT_NAME: render_report(load_run(outdir)), **render_exports(outdir)}
    return [write_text_atomic(outdir / name, text) for name, text in texts.items()]


#: files ``shieldwall report`` needs in a results directory of each kind
REPORT_INPUTS = {
    "run": ("summary.json", "scenario.json", "truth.parquet", "interceptors.parquet",
            "events.parquet"),
    "mc": ("replications.parquet",),
    "sweep": ("sweep.json",),
}


def _results_kind(outdir: Path) -> str:
    """``run``, ``mc`` or ``sweep``: which command wrote ``outdir`` (its results marker, else
    the index file of an older version); every file its report needs must be readable."""
    import os

    from shieldwall.core.outputs import MARKER, results_kind

    if not outdir.is_dir():
        raise InputError(str(outdir), "no such results directory")
    found = results_kind(outdir)
    if found is None:
        raise InputError(str(outdir), f"not a results directory: expected {MARKER} or "
                         "summary.json (written by `shieldwall run`), study.json (`shieldwall "
                         "mc`) or sweep.json (`shieldwall sweep`)")
    kind = found[0]
    if kind not in REPORT_INPUTS:
        raise InputError(str(outdir), f"holds results of `shieldwall {kind}`, which have no "
                         "report to rewrite; expected a run, mc or sweep directory")
    for name in REPORT_INPUTS[kind]:
        path = outdir / name
        if not path.exists():
            raise InputError(str(path), f"missing: the report of a `shieldwall {kind}` "
                             f"directory needs {', '.join(REPORT_INPUTS[kind])}; nothing was "
                             "written")
        if not os.access(path, os.R_OK) or (path.is_dir() and not os.access(path, os.X_OK)):
            raise InputError(str(path), "not readable (permission denied); nothing was "
                             "written")
    return kind


@app.command()
def report(
    outdir: Annotated[Path, typer.Argument(help="Results directory of run, mc or sweep.")],
) -> None:
    """(Re)write the HTML report of a results directory, and a run's GeoJSON/KML/CZML.

    Every file the report needs must be present; each output replaces its old version
    atomically (a temporary file, then a rename)."""
    from shieldwall.report import write_mc_report, write_sweep_report

    with input_errors():
        kind = _results_kind(outdir)
        if kind == "run":
            written = _write_run_outputs(outdir)
        elif kind == "mc":
            written = [write_mc_report(outdir)]
        else:
            written = [write_sweep_report(outdir)]
    typer.echo(f"{kind} report: " + ", ".join(str(p) for p in written))


@app.command()
def wta(
    instance: Annotated[Path, typer.Argument(help="Instance JSON: values, counts, pk.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Solution JSON to write (an "
                                      "existing file is replaced; never a directory or a "
                                      "device).")],
    solver: Annotated[str, typer.Option(
        "--solver", help="auto | greedy | heuristic | exact (auto: heuristic at once, "
        "then the exact MILP until the time limit, default 10 s).")] = "auto",
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", help="Wall-clock budget of exact/auto, seconds.")] = None,
) -> None:
    """Static weapon-target assignment: minimize the expected surviving target value."""
    from shieldwall.analysis.wta_io import solve_instance_file

    with input_errors():
        sol = solve_instance_file(instance, out, solver=solver, time_limit_s=time_limit)
    bound = "n/a" if sol.lower_bound is None else f"{sol.lower_bound:.6g}"
    gap = "n/a" if sol.gap is None else f"{100 * sol.gap:.4f} %"
    t = Table(title=f"WTA {instance.name} - {sol.assignment.shape[0]} weapon types x "
                    f"{sol.assignment.shape[1]} targets")
    for column in ("solver", "objective", "lower bound", "gap", "optimal", "time"):
        t.add_column(column, justify="right")
    t.add_row(sol.solver, f"{sol.objective:.6g}", bound, gap, "yes" if sol.optimal else "no",
              f"{sol.seconds:.3f} s")
    Console().print(t)
    typer.echo(f"solution: {out}")


EXIT_INTERRUPTED = 130


@app.command()
def mc(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    n: Annotated[int, typer.Option("-n", help="Number of replications.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Study directory to write: a new "
                                      "path or an empty directory (never a file or a "
                                      "directory of other files).")],
    seed: Annotated[int | None, typer.Option("--seed", help="Study seed (default: the "
                                             "scenario's).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Local worker processes "
                                                "(default: every core).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler "
                                                  "address, e.g. tcp://host:8786.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Run only the replications missing "
                                         "from OUT (same scenario and seed).")] = False,
    chunk_seconds: Annotated[float, typer.Option("--chunk-seconds", help="Write finished rows "
                                                 "at least this often (s).")] = 5.0,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace OUT if it holds an earlier Monte Carlo study.")] = False,
    max_memory_gb: MaxMemoryOption = None,
) -> None:
    """Monte Carlo study: replications.parquet and summary.json (means, 95 % intervals)."""
    import os

    from shieldwall.analysis.montecarlo import (
        StudyInterrupted,
        run_study_command,
        sigterm_as_interrupt,
    )
    from shieldwall.scenario.size import check_run_size, estimate_run_size

    with input_errors():
        check_run_options(seed=seed, n=n, workers=workers, chunk_seconds=chunk_seconds,
                          max_memory_gb=max_memory_gb)
        # Per replication (no tables kept), times the replications running at once locally.
        at_once = 1 if scheduler is not None else min(workers or os.cpu_count() or 1, n)
        check_run_size(estimate_run_size(load_scenario(scenario), recorded=False),
                       str(scenario), max_memory_gb, workers=at_once)
    # SIGTERM (kill, a batch system's time limit) stops the study exactly like Ctrl-C.
    with input_errors(), sigterm_as_interrupt():
        try:
            run_study_command(scenario, n, out, seed=seed, workers=workers,
                              scheduler=scheduler, resume=resume, chunk_seconds=chunk_seconds,
                              overwrite=overwrite, max_memory_gb=max_memory_gb)
            typer.echo(f"report: {_write_study_report(out, sweep=False)}")
        except StudyInterrupted as stop:
            typer.echo(f"\ninterrupted: {stop.done} of {stop.n} replications are saved in "
                       f"{out}; resume with:\n  shieldwall mc {scenario} -n {n} -o {out} "
                       f"--seed {stop.seed} --resume", err=True)
            raise typer.Exit(code=EXIT_INTERRUPTED) from None
        except KeyboardInterrupt:  # before the replications started, or while reporting
            typer.echo(f"\ninterrupted; any finished replications are saved in {out}; "
                       f"resume with:\n  shieldwall mc {scenario} -n {n} -o {out}"
                       f"{'' if seed is None else f' --seed {seed}'} --resume", err=True)
            raise typer.Exit(code=EXIT_INTERRUPTED) from None


def _write_study_report(outdir: Path, sweep: bool) -> Path:
    from shieldwall.report import write_mc_report, write_sweep_report

    return write_sweep_report(outdir) if sweep else write_mc_report(outdir)


@app.command()
def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file (the base point).")],
    sets: Annotated[list[str], typer.Option("--set", help="path=v1,v2,... e.g. "
                                            "doctrine.salvo.ballistic=1,2 (repeatable; the "
                                            "grid is the full factorial).")],
    n: Annotated[int, typer.Option("-n", help="Replications per point.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Sweep directory to write: a new "
                                      "path or an empty directory (never a file or a "
                                      "directory of other files).")],
    seed: Annotated[int | None, typer.Option("--seed", help="Study seed shared by every "
                                             "point.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Local worker processes "
                                                "(default: every core).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler "
                                                  "address.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted sweep.")]
    = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace OUT if it holds an earlier sweep.")] = False,
    max_memory_gb: MaxMemoryOption = None,
    max_replications: Annotated[int | None, typer.Option(
        "--max-replications", help="Refuse a sweep of more replications in all (points x n) "
        "than this (default 100000); a sweep estimated to take over an hour warns first.")]
    = None,
) -> None:
    """Parameter sweep: one Monte Carlo study per grid point; sweep.parquet and sweep.json."""
    from shieldwall.analysis.montecarlo import StudyInterrupted, sigterm_as_interrupt
    from shieldwall.analysis.sweep import run_sweep_command

    with input_errors():
        check_run_options(seed=seed, n=n, workers=workers, max_memory_gb=max_memory_gb,
                          max_replications=max_replications)
    flags = " ".join(f"--set {s}" for s in sets)
    # SIGTERM (kill, a batch system's time limit) stops the sweep exactly like Ctrl-C.
    with input_errors(), sigterm_as_interrupt():
        try:
            run_sweep_command(scenario, sets, n, out, seed=seed, workers=workers,
                              scheduler=scheduler, resume=resume, overwrite=overwrite,
                              max_memory_gb=max_memory_gb, max_replications=max_replications)
            typer.echo(f"report: {_write_study_report(out, sweep=True)}")
        except (StudyInterrupted, KeyboardInterrupt) as stop:
            stop_seed = getattr(stop, "seed", None)
            stop_seed = seed if stop_seed is None else stop_seed
            typer.echo(f"\ninterrupted; finished replications are saved in {out}; resume "
                       f"with:\n  shieldwall sweep {scenario} {flags} -n {n} -o {out}"
                       f"{'' if stop_seed is None else f' --seed {stop_seed}'} --resume",
                       err=True)
            raise typer.Exit(code=EXIT_INTERRUPTED) from None


@app.command()
def models(
    out: Annotated[Path | None, typer.Option(
        "-o", "--out", help="Write validation.json and validation.html to this results "
        "directory (new, empty, or an earlier `shieldwall models` output with --overwrite).")
    ] = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Run only this check (repeatable; see --list).")] = None,
    full: Annotated[bool, typer.Option(
        "--full", help="The full checks (more samples, finer grids; minutes) instead of the "
        "quick ones (seconds).")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List the checks and exit.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace an earlier validation report at -o.")] = False,
) -> None:
    """Run the models' reference checks and print (and write) the validation report.

    Each check runs one model of the engine against an independent reference (an analytic
    result, a published curve, a second method). Exit 0 when every check passes, 1 when one
    fails or raises.
    """
    from shieldwall.analysis.validation.runner import ERROR, PASS, discover, document, run_checks
    from shieldwall.core.outputs import check_output_dir, install_directory, write_text_atomic
    from shieldwall.report.validation import render_validation
    from shieldwall.scenario.checks import unknown_name_message

    available = discover()
    if list_:
        table = Table(title="shieldwall model checks")
        for column in ("check", "model", "title", "model card"):
            table.add_column(column, overflow="fold")
        for c in available.values():
            table.add_row(c.name, c.model, c.title, c.card)
        Console(width=max(Console().width, 140)).print(table)
        return
    with input_errors():
        for name in only or []:
            if name not in available:
                raise InputError("<command line>", unknown_name_message("check", name,
                                                                        available),
                                 field="--only")
        target = check_output_dir(out, "models", overwrite=overwrite) if out else None
    chosen = [available[n] for n in available if not only or n in only]
    console = Console(stderr=True)

    def progress(check: Any, outcome: Any) -> None:
        if outcome is None:
            console.print(f"[dim]running {check.name}...[/dim]")

    outcomes = run_checks(chosen, quick=not full, progress=progress)
    doc = document(outcomes, quick=not full, version=package_version())
    table = Table(title=f"shieldwall model validation ({doc['mode']} checks)")
    for column in ("check", "model", "result", "s", "key metrics"):
        table.add_column(column, overflow="fold")
    colour = {PASS: "green", ERROR: "yellow"}
    for o, entry in zip(outcomes, doc["checks"], strict=True):
        metrics = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in list(entry["metrics"].items())[:3])
        if o.status == ERROR:
            metrics = (o.error or "").strip().splitlines()[-1]
        table.add_row(o.check.name, o.check.model,
                      f"[{colour.get(o.status, 'red')}]{o.status.upper()}[/]",
                      f"{o.seconds:.1f}", metrics)
    Console(width=max(Console().width, 140)).print(table)
    counts = doc["counts"]
    typer.echo(f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors")
    if target is not None:
        text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
        page = render_validation(doc)

        def build(tmp: Path) -> None:
            write_text_atomic(tmp / "validation.json", text)
            write_text_atomic(tmp / "validation.html", page)

        with input_errors():
            install_directory(target, build, shown=str(out))
        typer.echo(f"report: {out}/validation.html")
    if counts["pass"] != len(outcomes):
        raise typer.Exit(1)


@app.command()
def track(
    detections: Annotated[Path, typer.Argument(help="Detections CSV (docs/formats.md §7).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Tracks CSV to write (an existing "
                                      "file is replaced; never a directory or a device).")],
    sensor: Annotated[Path | None, typer.Option("--sensor", help="SENSOR.yaml (noise, Pd, "
                                                "clutter, tracker options).")] = None,
    association: Annotated[str | None, typer.Option(
        "--association", help="gnn or jpda (overrides SENSOR.yaml).")] = None,
    filter_: Annotated[str | None, typer.Option(
        "--filter", help="ekf or ukf (overrides SENSOR.yaml).")] = None,
    max_detections: Annotated[int, typer.Option(
        "--max-detections", help="Refuse a CSV with more rows than this (exit 2).")
    ] = 10_000_000,
) -> None:
    """Track radar detections alone: confirmed tracks at every scan to a CSV."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from shieldwall.analysis.track_io import (
        load_sensor_config,
        read_detections_csv,
        write_tracks_csv,
    )
    from shieldwall.core.outputs import check_output_file
    from shieldwall.tracking.standalone import run_tracker

    with input_errors():
        check_output_file(out, inputs=[detections, sensor])  # before tracking, not after
        config = load_sensor_config(sensor)
        overrides = {k: v for k, v in (("association", association), ("filter", filter_))
                     if v is not None}
        if overrides:
            from pydantic import ValidationError

            from shieldwall.tracking.standalone import TrackerOptions
            try:
                options = TrackerOptions.model_validate(
                    {**config.tracker.model_dump(), **overrides})
            except ValidationError as err:
                first = err.errors()[0]
                raise InputError("<command line>", f"{first['msg']}",
                                 field="--" + str(first["loc"][0])) from None
            config = config.model_copy(update={"tracker": options})
        if max_detections < 1:
            raise InputError("<command line>", f"--max-detections must be >= 1, got "
                             f"{max_detections}", field="--max-detections")
        dets = read_detections_csv(detections, max_detections=max_detections)
    console = Console(stderr=True)
    with Progress(TextColumn("tracking"), BarColumn(), TextColumn("{task.completed}/{task.total}"
                  " scans"), TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("scans", total=None)
        result = run_tracker(dets, config,
                             progress=lambda done, total: bar.update(task, completed=done,
                                                                     total=total))
    with input_errors():
        try:
            write_tracks_csv(result, out)
        except OSError as err:
            raise InputError(str(out), f"cannot write the file ({err.strerror})") from None
    n_scans = result.scan_cpu_s.size
    typer.echo(f"{len(dets)} detections in {n_scans} scans -> {result.track_id.size} track "
               f"rows, {np.unique(result.track_id).size} confirmed tracks; "
               f"{1e3 * float(result.scan_cpu_s.mean()) if n_scans else 0.0:.1f} ms CPU per "
               f"scan; wrote {out}")


def _usd(x: float) -> str:
    return f"${x / 1e6:,.1f}M" if abs(x) >= 1e5 else f"${x:,.0f}"


def print_summary(summary: dict, console: Console) -> None:
    """The run summary as rich tables: threats by class and fate, interceptors, value lost."""
    fates = ("intercepted", "leaked", "crashed", "expired")
    title = f"{summary['scenario']} - seed {summary['seed']}"
    if summary.get("perfect_information"):
        title += " - PERFECT INFORMATION (study mode)"
    t = Table(title=title + " - notional figures")
    t.add_column("threat class")
    for f in fates:
        t.add_column(f, justify="right")
    t.add_column("total", justify="right")
    for cls, counts in summary["fates_by_class"].items():
        total = sum(counts.values())
        if total:
            t.add_row(cls, *(str(counts[f]) for f in fates), str(total))
    t.add_row("[bold]all", *(f"[bold]{summary['fates'][f]}" for f in fates),
              f"[bold]{summary['threats']}")
    console.print(t)
    w = Table(title="interceptors fired")
    w.add_column("interceptor")
    w.add_column("fired", justify="right")
    w.add_column("left", justify="right")
    for name, n in summary["interceptors_fired"].items():
        w.add_row(name, str(n), str(summary.get("interceptors_remaining", {}).get(name, "")))
    console.print(w)
    a = Table(title="defended assets")
    a.add_column("asset")
    a.add_column("value", justify="right")
    a.add_column("lost", justify="right")
    a.add_column("hits", justify="right")
    for name, d in summary["asset_damage"].items():
        a.add_row(name, f"{d['value']:g}", f"{d['value_lost']:.1f}", str(d["hits"]))
    console.print(a)
    ratio = summary.get("cost_exchange_ratio")
    console.print(
        f"value lost {summary['value_lost']:.1f} of {summary['value_total']:g}; "
        f"interceptors {_usd(summary['interceptor_cost_usd'])} vs raid "
        f"{_usd(summary['raid_cost_usd'])} (cost exchange "
        f"{'n/a' if ratio is None else f'{ratio:.2f}'})")


EXIT_INTERNAL_ERROR = 1
#: Directory of crash logs (default: the platform's temporary directory).
CRASH_DIR_ENV = "SHIELDWALL_CRASH_DIR"


def package_version() -> str:
    """The installed distribution's version, else the source tree's ``__version__``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shieldwall")
    except PackageNotFoundError:
        from shieldwall import __version__

        return __version__


def _crash_report(err: BaseException) -> str:
    """The crash log's text: versions, the command line and the full traceback."""
    import platform
    import shlex
    import traceback
    from datetime import UTC, datetime
    from importlib.metadata import PackageNotFoundError, version

    def dist(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    lines = [
        f"shieldwall {package_version()} internal error, "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}",
        f"command: {shlex.join(sys.argv)}",
        f"working directory: {Path.cwd()}",
        f"python {sys.version.split()[0]} ({sys.executable}) on {platform.platform()}",
        "packages: " + ", ".join(f"{name} {dist(name)}" for name in (
            "numpy", "scipy", "numba", "pydantic", "typer", "click", "rich", "pyarrow",
            "highspy", "dask")),
        "",
        *traceback.format_exception(err),
    ]
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"


def write_crash_log(err: BaseException) -> Path | None:
    """Write the crash log of ``err`` to ``$SHIELDWALL_CRASH_DIR`` (else the temporary
    directory) and return its path, or None when neither can be written."""
    import os
    import tempfile
    import time

    text = _crash_report(err)
    name = f"shieldwall-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    dirs = [Path(os.environ[CRASH_DIR_ENV])] if os.environ.get(CRASH_DIR_ENV) else []
    for directory in [*dirs, Path(tempfile.gettempdir())]:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / name
            with path.open("x", encoding="utf-8") as f:
                f.write(text)
            return path
        except OSError:
            continue
    return None


def report_internal_error(err: Exception) -> int:
    """One line on stderr for an unexpected exception (the traceback goes to a crash log);
    returns the exit code, 1."""
    first = (str(err).strip().splitlines() or [""])[0]
    if len(first) > 200:
        first = first[:197] + "..."
    what = type(err).__name__ + (f": {first}" if first else "")
    # An operating-system failure (disk full, permissions) is not necessarily a bug.
    label = "system error" if isinstance(err, OSError) else "internal error"
    path = write_crash_log(err)
    if path is None:
        import traceback

        typer.echo(f"shieldwall: {label} ({what}); no crash log could be written, the "
                   "traceback follows - please report it", err=True)
        traceback.print_exception(err, file=sys.stderr)
    else:
        typer.echo(f"shieldwall: {label} ({what}); the traceback is in {path} - please "
                   "report it", err=True)
    return EXIT_INTERNAL_ERROR


def main() -> None:
    """Entry point of the ``shieldwall`` script: bad input exits 2 with one paragraph, an
    unexpected error exits 1 with one line and a crash log (the traceback), Ctrl-C exits 130;
    ``typer.Exit``/``SystemExit`` pass through."""
    import click

    try:
        app()
    except InputError as err:
        report_input_error(err)
        sys.exit(EXIT_BAD_INPUT)
    except (click.exceptions.Exit, click.exceptions.Abort):
        raise  # only outside standalone mode; typer turns them into SystemExit itself
    except Exception as err:
        sys.exit(report_internal_error(err))


if __name__ == "__main__":
    main()
