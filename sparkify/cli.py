"""The ``sparkify`` command: each command parses options, makes one library call, shows results."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.table import Table as RichTable

import sparkify
from sparkify.errors import SparkifyError
from sparkify.settings import DEFAULT_TARGET, Settings

F = TypeVar("F", bound=Callable[..., Any])


class SparkifyGroup(click.Group):
    """Turns every :class:`SparkifyError` into ``Error: …`` on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SparkifyError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)


def target_option(function: F) -> F:
    return click.option(
        "--target",
        envvar="SPARKIFY_TARGET",
        default=DEFAULT_TARGET,
        show_default=True,
        help="Warehouse URL: duckdb:///relative.duckdb, duckdb:////absolute.duckdb or a "
        "path ending in .duckdb. Also $SPARKIFY_TARGET.",
    )(function)


@click.group(cls=SparkifyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(sparkify.__version__, prog_name="sparkify")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Turn Sparkify's song and event JSON into a star-schema warehouse.

    \b
    Quick start (no credentials, no network; loads a built-in sample):
        sparkify etl
        sparkify analyze
    """
    ctx.obj = {"debug": debug}


@cli.command()
@click.option("--song-data", metavar="PATH", help="Folder of song files ($SPARKIFY_SONG_DATA).")
@click.option("--log-data", metavar="PATH", help="Folder of event files ($SPARKIFY_LOG_DATA).")
@click.option(
    "--target", metavar="URL", help=f"Warehouse URL ($SPARKIFY_TARGET) [default: {DEFAULT_TARGET}]."
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A classic dwh.cfg: [S3] SONG_DATA and LOG_DATA are read from it.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary table.")
def etl(
    song_data: str | None,
    log_data: str | None,
    target: str | None,
    config: Path | None,
    quiet: bool,
) -> None:
    """Load song and event files and build the star schema, in one transaction.

    With no data given, loads a built-in sample dataset (generated once, then cached).
    Re-running on the same input gives the same warehouse.

    \b
    Examples:
        sparkify etl
        sparkify etl --song-data data/song_data --log-data data/log_data \\
                     --target duckdb:///warehouse.duckdb
        sparkify etl --config dwh.cfg
    """
    settings = Settings.resolve(
        song_data=song_data, log_data=log_data, target=target, config=config
    )
    result = sparkify.etl(settings, quiet=quiet)
    if quiet:
        return
    console = Console()
    console.print(
        f"Loaded [bold]{result.song_data}[/] and [bold]{result.log_data}[/] "
        f"in {result.seconds:.1f} s"
    )
    for staged in result.staged:
        console.print(f"  {staged.table}: {staged.records:,} records from {staged.files:,} files")
    console.print(_counts_table(result.counts))


@cli.command("create-tables")
@target_option
@click.option("--drop", is_flag=True, help="Drop the tables first (their rows are lost).")
def create_tables(target: str, drop: bool) -> None:
    """Create the staging and star tables that are missing.

    \b
    Examples:
        sparkify create-tables
        sparkify create-tables --drop --target duckdb:///warehouse.duckdb
    """
    names = sparkify.create_tables(target, drop=drop)
    verb = "Dropped and created" if drop else "Created (if missing)"
    click.echo(f"{verb} {len(names)} tables: {', '.join(names)}")


@cli.command()
@target_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: table -> rows.")
def analyze(target: str, as_json: bool) -> None:
    """Count the rows of every table.

    \b
    Examples:
        sparkify analyze
        sparkify analyze --json --target duckdb:///warehouse.duckdb
    """
    counts = sparkify.analyze(target)
    if as_json:
        click.echo(orjson.dumps(counts).decode())
    else:
        Console().print(_counts_table(counts))


@cli.command()
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--songs",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="How many song files to write.",
)
@click.option(
    "--events",
    type=click.IntRange(min=0),
    default=10_000,
    show_default=True,
    help="How many events to write.",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="How many daily event files to spread them over.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="The same seed always writes the same bytes.",
)
@click.option(
    "--match-share",
    type=click.FloatRange(0, 1),
    default=0.3,
    show_default=True,
    help="Share of plays that name a generated song exactly.",
)
def generate(
    outdir: Path, songs: int, events: int, days: int, seed: int, match_share: float
) -> None:
    """Write a dataset in the published Sparkify layout and format into OUTDIR.

    \b
    Examples:
        sparkify generate data --songs 14896 --events 8056
        sparkify generate big --songs 100000 --events 1000000 --seed 7
    """
    result = sparkify.generate(
        outdir, songs=songs, events=events, days=days, seed=seed, match_share=match_share
    )
    click.echo(
        f"Wrote {result.songs:,} song files to {result.song_data} and "
        f"{result.events:,} events in {result.log_files} files to {result.log_data}"
    )


@cli.command()
@target_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="report",
    show_default=True,
    help="Folder for report.html and the charts' PNG files.",
)
@click.option(
    "--format",
    "report_format",
    type=click.Choice(["html", "markdown"]),
    default="html",
    show_default=True,
    help="html: write the report into --out; markdown: print the key tables instead.",
)
def report(target: str, out_dir: Path, report_format: str) -> None:
    """Report what users listen to: plays, top songs, free and paid, sessions, places, devices.

    Every figure is computed in the warehouse. The HTML report is one self-contained file
    (charts embedded, opens offline); each chart is also written as a PNG beside it.

    \b
    Examples:
        sparkify report
        sparkify report --target duckdb:///warehouse.duckdb --out report
        sparkify report --format markdown > report.md
    """
    result = sparkify.report(target, out_dir, format=report_format)
    if result.markdown is not None:
        click.echo(result.markdown)
        return
    click.echo(f"Wrote {result.html} with {len(result.charts)} charts (also as PNG in {out_dir})")


def _counts_table(counts: dict[str, int]) -> RichTable:
    table = RichTable(title="Rows per table")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    return table


def main() -> None:
    cli(prog_name="sparkify")
