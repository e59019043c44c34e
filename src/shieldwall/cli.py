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
    from shieldwall.report import write_report

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
                        run_info=run_info, finalize=write_report)
    print_summary(result.summary, Console())
    typer.echo(f"results: {out}/ (summary.json, events.parquet, truth.parquet, "
               f"tracks.parquet, report.html); {result.wall_time_s:.1f} s wall time, "
               f"{run_info['speedup_vs_real_time']:.0f}x real time")


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
