"""The ``shieldwall`` command line (DESIGN.md section 6.1).

Exit 0 on success, 2 on bad input with a one-paragraph message on stderr
(``error: <file>, line L, field 'x': message``), never a traceback for the user's mistakes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from shieldwall.catalog import catalog_table_rows, load_catalog
from shieldwall.core.errors import InputError
from shieldwall.scenario import load_scenario, scenario_json_schema

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


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
) -> None:
    """Check a scenario file (structure, catalog names, geography) without running it."""
    with input_errors():
        loaded = load_scenario(scenario)
    typer.echo(f"OK: {loaded.name}: {len(loaded.assets)} assets, {len(loaded.batteries)} "
               f"batteries, {loaded.n_threats} threats in {len(loaded.raid.waves)} waves")


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write to this file instead of stdout.")]
    = None,
) -> None:
    """Print the JSON Schema of the scenario file (for editors' autocompletion)."""
    text = json.dumps(scenario_json_schema(), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    with input_errors():
        try:
            output.write_text(text, encoding="utf-8")
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
    out: Annotated[Path, typer.Option("-o", "--out", help="Results directory to write.")],
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: the scenario's).")]
    = None,
    perfect_information: Annotated[bool, typer.Option(
        "--perfect-information", help="Study mode: the battle manager sees truth, not tracks "
        "(labelled in every output).")] = False,
) -> None:
    """Run one raid: write summary.json, the parquet tables and report.html into OUT."""
    from shieldwall.analysis.results import write_run_directory
    from shieldwall.engine import simulate

    with input_errors():
        loaded = load_scenario(scenario)
    console = Console(stderr=True)
    with console.status(f"simulating {loaded.name} ({loaded.n_threats} threats, "
                        f"{loaded.duration_s:.0f} s)"):
        result = simulate(loaded, seed=seed,
                          perfect_information=True if perfect_information else None)
    result.summary["scenario_file"] = str(scenario)
    run_info = {"wall_time_s": result.wall_time_s, "scenario_file": str(scenario),
                "speedup_vs_real_time": result.summary["duration_s"] / result.wall_time_s}
    write_run_directory(out, result.summary, result.scenario_doc, result.tables,
                        run_info=run_info, finalize=_write_run_outputs)
    print_summary(result.summary, Console())
    typer.echo(f"results: {out}/ (summary.json, events.parquet, truth.parquet, "
               f"tracks.parquet, report.html, run.geojson, run.kml, run.czml); "
               f"{result.wall_time_s:.1f} s wall time, "
               f"{run_info['speedup_vs_real_time']:.0f}x real time")


def _write_run_outputs(outdir: Path) -> list[Path]:
    """The report and the exports of one run (written inside the run's temporary directory,
    so the results directory appears whole or not at all)."""
    from shieldwall.report import write_exports, write_report

    return [write_report(outdir), *write_exports(outdir)]


def _results_kind(outdir: Path) -> str:
    """``run``, ``mc`` or ``sweep``: which command wrote ``outdir`` (from its files)."""
    if not outdir.is_dir():
        raise InputError(str(outdir), "no such results directory")
    if (outdir / "sweep.json").is_file():
        return "sweep"
    if (outdir / "study.json").is_file():
        return "mc"
    if (outdir / "summary.json").is_file():
        return "run"
    raise InputError(str(outdir), "not a results directory: expected summary.json (written by "
                     "`shieldwall run`), study.json (`shieldwall mc`) or sweep.json "
                     "(`shieldwall sweep`)")


@app.command()
def report(
    outdir: Annotated[Path, typer.Argument(help="Results directory of run, mc or sweep.")],
) -> None:
    """(Re)write the HTML report of a results directory, and a run's GeoJSON/KML/CZML."""
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
    out: Annotated[Path, typer.Option("-o", "--out", help="Solution JSON to write.")],
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
    out: Annotated[Path, typer.Option("-o", "--out", help="Study directory to write.")],
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
) -> None:
    """Monte Carlo study: replications.parquet and summary.json (means, 95 % intervals)."""
    from shieldwall.analysis.montecarlo import StudyInterrupted, run_study_command

    with input_errors():
        try:
            run_study_command(scenario, n, out, seed=seed, workers=workers,
                              scheduler=scheduler, resume=resume, chunk_seconds=chunk_seconds)
            typer.echo(f"report: {_write_study_report(out, sweep=False)}")
        except StudyInterrupted as stop:
            typer.echo(f"\ninterrupted: {stop.done} of {stop.n} replications are saved in "
                       f"{out}; resume with:\n  shieldwall mc {scenario} -n {n} -o {out} "
                       f"--seed {stop.seed} --resume", err=True)
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
    out: Annotated[Path, typer.Option("-o", "--out", help="Sweep directory to write.")],
    seed: Annotated[int | None, typer.Option("--seed", help="Study seed shared by every "
                                             "point.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Local worker processes "
                                                "(default: every core).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler "
                                                  "address.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted sweep.")]
    = False,
) -> None:
    """Parameter sweep: one Monte Carlo study per grid point; sweep.parquet and sweep.json."""
    from shieldwall.analysis.montecarlo import StudyInterrupted
    from shieldwall.analysis.sweep import run_sweep_command

    with input_errors():
        try:
            run_sweep_command(scenario, sets, n, out, seed=seed, workers=workers,
                              scheduler=scheduler, resume=resume)
            typer.echo(f"report: {_write_study_report(out, sweep=True)}")
        except StudyInterrupted as stop:
            flags = " ".join(f"--set {s}" for s in sets)
            typer.echo(f"\ninterrupted; finished replications are saved in {out}; resume "
                       f"with:\n  shieldwall sweep {scenario} {flags} -n {n} -o {out} "
                       f"--seed {stop.seed} --resume", err=True)
            raise typer.Exit(code=EXIT_INTERRUPTED) from None


@app.command()
def track(
    detections: Annotated[Path, typer.Argument(help="Detections CSV (DESIGN.md §6.3).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Tracks CSV to write.")],
    sensor: Annotated[Path | None, typer.Option("--sensor", help="SENSOR.yaml (noise, Pd, "
                                                "clutter, tracker options).")] = None,
    association: Annotated[str | None, typer.Option(
        "--association", help="gnn or jpda (overrides SENSOR.yaml).")] = None,
    filter_: Annotated[str | None, typer.Option(
        "--filter", help="ekf or ukf (overrides SENSOR.yaml).")] = None,
) -> None:
    """Track radar detections alone: confirmed tracks at every scan to a CSV."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from shieldwall.tracking.standalone import (
        load_sensor_config,
        read_detections_csv,
        run_tracker,
        write_tracks_csv,
    )

    with input_errors():
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
        dets = read_detections_csv(detections)
    console = Console(stderr=True)
    with Progress(TextColumn("tracking"), BarColumn(), TextColumn("{task.completed}/{task.total}"
                  " scans"), TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("scans", total=None)
        result = run_tracker(dets, config,
                             progress=lambda done, total: bar.update(task, completed=done,
                                                                     total=total))
    write_tracks_csv(result, out)
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


def main() -> None:
    """Entry point of the ``shieldwall`` script: no tracebacks for bad input (exit 2)."""
    try:
        app()
    except InputError as err:
        report_input_error(err)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
