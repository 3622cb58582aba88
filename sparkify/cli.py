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
from sparkify.check import CheckResult
from sparkify.errors import SparkifyError
from sparkify.pipeline import DEFAULT_REJECTS_FILE
from sparkify.settings import DEFAULT_TARGET, Settings
from sparkify.stage import TooManyRejects

F = TypeVar("F", bound=Callable[..., Any])
SHOWN_REJECTS = 10


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
        help="Warehouse URL: duckdb:///relative.duckdb, duckdb:////absolute.duckdb, a "
        "path ending in .duckdb, postgresql://user@host:5432/db or "
        "redshift://user@host:5439/db. Also $SPARKIFY_TARGET.",
    )(function)


def redshift_options(function: F) -> F:
    """``--dry-run`` (every engine) and the options of staging on Redshift."""
    options = [
        click.option("--dry-run", is_flag=True,
                     help="Print every SQL statement the run would send (for Redshift the COPY "
                     "statements too) without connecting or touching anything."),
        click.option("--iam-role", metavar="ARN",
                     help="Redshift: IAM role COPY reads S3 with ($SPARKIFY_IAM_ROLE, "
                     "[IAM_ROLE] ARN)."),
        click.option("--staging", metavar="S3URI",
                     help="Redshift: s3://bucket/prefix for the JSONPaths file and compacted "
                     "objects ($SPARKIFY_STAGING, [S3] STAGING)."),
        click.option("--log-jsonpath", metavar="S3URI",
                     help="Redshift: an existing JSONPaths file for the events ([S3] "
                     "LOG_JSONPATH); else one is written under --staging."),
        click.option("--region", help="Redshift: the sources' S3 region ($SPARKIFY_REGION)."),
        click.option("--compact", is_flag=True,
                     help="Redshift: merge the many small source files into a few gzipped "
                     "JSON-lines objects under --staging, then COPY them by manifest."),
        click.option("--slices", type=click.IntRange(min=1), default=4, show_default=True,
                     help="Redshift: the cluster's slice count; --compact writes a multiple."),
        click.option("--gzip", is_flag=True, help="Redshift: the source files are gzipped."),
    ]  # fmt: skip
    for option in reversed(options):
        function = option(function)
    return function


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
@click.option(
    "--song-data",
    metavar="PATH",
    help="Folder or s3:// prefix of song files ($SPARKIFY_SONG_DATA).",
)
@click.option(
    "--log-data", metavar="PATH", help="Folder or s3:// prefix of event files ($SPARKIFY_LOG_DATA)."
)
@click.option(
    "--no-sign-request",
    is_flag=True,
    help="Read s3:// song and log data without credentials, as for a public bucket "
    "($SPARKIFY_NO_SIGN_REQUEST). s3:// locations otherwise use the standard AWS settings "
    "(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, AWS_MAX_ATTEMPTS...).",
)
@click.option(
    "--target", metavar="URL", help=f"Warehouse URL ($SPARKIFY_TARGET) [default: {DEFAULT_TARGET}]."
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A classic dwh.cfg: [S3] SONG_DATA and LOG_DATA; [CLUSTER] and [IAM_ROLE] for Redshift.",
)
@click.option(
    "--full-refresh", is_flag=True, help="Reload every file, not only new and changed ones."
)
@click.option(
    "--max-errors",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Load anyway when at most this many records are rejected (like Redshift's MAXERROR).",
)
@click.option(
    "--rejects-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_REJECTS_FILE,
    show_default=True,
    help="Where every reject is written when there are too many to load.",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to wait while another run holds the warehouse.",
)
@click.option("--no-checks", is_flag=True, help="Skip the data-quality checks after loading.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
@redshift_options
def etl(
    song_data: str | None,
    log_data: str | None,
    target: str | None,
    config: Path | None,
    full_refresh: bool,
    max_errors: int,
    rejects_file: Path,
    lock_timeout: float,
    no_checks: bool,
    quiet: bool,
    no_sign_request: bool,
    **redshift: Any,
) -> None:
    """Load new and changed song and event files and rebuild the star schema.

    With no data given, loads a built-in sample dataset (generated once, then cached).
    Each run is one transaction; re-running loads only new or changed files and gives the
    same warehouse as one clean run. Records that cannot be loaded go to the load_errors
    table; more than --max-errors of them abort the run and change nothing. The
    data-quality checks of `sparkify check` run at the end.

    \b
    Examples:
        sparkify etl
        sparkify etl --song-data data/song_data --log-data data/log_data \\
                     --target duckdb:///warehouse.duckdb
        sparkify etl --config dwh.cfg --max-errors 10
        sparkify etl --target postgresql://etl@localhost:5432/sparkify
        sparkify etl --config dwh.cfg --compact --staging s3://my-bucket/sparkify --dry-run
    """
    settings = Settings.resolve(
        song_data=song_data,
        log_data=log_data,
        target=target,
        config=config,
        no_sign_request=no_sign_request,
    )
    dry_run = redshift.pop("dry_run")
    options = None
    if settings.target.startswith("redshift://"):
        options = sparkify.RedshiftOptions.resolve(config=config, max_errors=max_errors, **redshift)
    if dry_run:
        for statement in sparkify.plan(settings, redshift=options):
            click.echo(statement + ";\n")
        return
    try:
        result = sparkify.etl(
            settings,
            full_refresh=full_refresh,
            max_errors=max_errors,
            rejects_file=rejects_file,
            lock_timeout=lock_timeout,
            checks=not no_checks,
            quiet=quiet,
            redshift=options,
        )
    except TooManyRejects as exc:
        for reject in exc.rejects[:SHOWN_REJECTS]:
            click.echo(f"  {reject}", err=True)
        if len(exc.rejects) > SHOWN_REJECTS:
            click.echo(f"  … and {len(exc.rejects) - SHOWN_REJECTS:,} more", err=True)
        raise
    console = Console(stderr=True) if quiet else Console()
    if not quiet:
        console.print(
            f"Loaded [bold]{result.song_data}[/] and [bold]{result.log_data}[/] "
            f"in {result.seconds:.1f} s",
            soft_wrap=True,
        )
        for report in result.stage.sources:
            console.print(f"  {report.reconciliation()}", soft_wrap=True)
            if report.unknown_fields:
                fields = ", ".join(f"{k} ({n:,})" for k, n in report.unknown_fields.most_common())
                console.print(f"  {report.kind}: ignored unknown fields: {fields}", soft_wrap=True)
        console.print(_counts_table(result.counts))
    rejected = len(result.stage.rejects)
    if rejected:
        console.print(
            f"[yellow]Warning:[/] {rejected:,} records rejected and kept in load_errors "
            "(sparkify check and SELECT * FROM load_errors show them)",
            soft_wrap=True,
        )
    if result.checks is not None:
        _report_checks(result.checks, console, verbose=False, summary=not quiet)
        if result.failed_checks:
            raise SparkifyError(
                f"loaded, but {len(result.failed_checks)} data-quality checks failed"
            )


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
def check(target: str) -> None:
    """Run the data-quality checks: keys unique and not null, references that exist,
    accepted values, and one songplay per NextSong event. Exits non-zero on any failure.

    \b
    Examples:
        sparkify check
        sparkify check --target duckdb:///warehouse.duckdb
    """
    results = sparkify.check(target)
    _report_checks(results, Console(), verbose=True)
    failed = [result for result in results if not result.passed]
    if failed:
        raise SparkifyError(f"{len(failed)} of {len(results)} data-quality checks failed")


def _report_checks(
    results: list[CheckResult], console: Console, *, verbose: bool, summary: bool = True
) -> None:
    """Each failed check (every check when ``verbose``) with a few offending rows."""
    failed = [result for result in results if not result.passed]
    for result in results if verbose else failed:
        mark = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
        detail = "" if result.passed else f" ({result.failures:,} offending rows)"
        console.print(f"{mark}  {result.check.name}{detail}", highlight=False)
        for row in result.sample:
            console.print(f"        {row}", highlight=False, markup=False)
    if summary and not failed:
        console.print(f"All {len(results)} data-quality checks passed.")


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


# --- Redshift cluster lifecycle -------------------------------------------------------------


def cluster_options(*, wait: bool = False, anywhere: bool = False) -> Callable[[F], F]:
    """The options every ``sparkify cluster`` command shares, and the waiting ones."""

    def decorate(function: F) -> F:
        if anywhere:
            function = click.option(
                "--allow-anywhere",
                is_flag=True,
                help="Allow opening the port to 0.0.0.0/0 (the whole internet); prints a "
                "warning. Without it only [DWH] DWH_ALLOWED_CIDR may connect.",
            )(function)
        if wait:
            function = click.option(
                "--poll-interval",
                type=click.FloatRange(min=0),
                default=sparkify.cluster.DEFAULT_DELAY,
                show_default=True,
                metavar="SECONDS",
                help="Seconds between status checks while waiting.",
            )(function)
            function = click.option(
                "--timeout",
                type=click.FloatRange(min=0),
                default=sparkify.cluster.DEFAULT_TIMEOUT,
                show_default=True,
                metavar="SECONDS",
                help="Give up waiting after this many seconds.",
            )(function)
        function = click.option(
            "--dry-run", is_flag=True, help="Print the AWS calls it would make; change nothing."
        )(function)
        return click.option(
            "--config",
            type=click.Path(dir_okay=False, path_type=Path),
            default="dwh.cfg",
            show_default=True,
            help="The classic dwh.cfg: [AWS], [DWH], [CLUSTER], [IAM_ROLE].",
        )(function)

    return decorate


@cli.group(short_help="Create, show and delete the Redshift cluster.")
def cluster() -> None:
    """Create, inspect and delete the Redshift cluster described by dwh.cfg.

    \b
    Credentials come from the standard AWS chain (aws configure, AWS_PROFILE,
    AWS_ACCESS_KEY_ID, an IAM role); [AWS] KEY/SECRET in dwh.cfg work but warn.
    Every command is safe to run again, and --dry-run shows the AWS calls first.

    \b
    Examples:
        sparkify cluster create --config dwh.cfg
        sparkify cluster status
        sparkify cluster endpoint      # writes [CLUSTER] HOST and [IAM_ROLE] ARN
        sparkify cluster delete --final-snapshot dwhcluster-final
    """


@cluster.command("create", short_help="Make the role, security group and cluster.")
@cluster_options(wait=True, anywhere=True)
def cluster_create(
    config: Path, dry_run: bool, timeout: float, poll_interval: float, allow_anywhere: bool
) -> None:
    """Make the IAM role, security group and cluster that are missing; wait until available.

    \b
    Examples:
        sparkify cluster create --dry-run
        sparkify cluster create --config dwh.cfg --timeout 1800
    """
    result = sparkify.cluster.create_cluster(
        config,
        allow_anywhere=allow_anywhere,
        dry_run=dry_run,
        timeout=timeout,
        delay=poll_interval,
        progress=_progress,
    )
    _show_result(result)
    if result.cluster is not None:
        info = result.cluster
        click.echo(f"Cluster {info.identifier} is {info.status} at {info.endpoint}:{info.port}")


@cluster.command("status", short_help="Show the cluster (--json too).")
@cluster_options()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def cluster_status(config: Path, dry_run: bool, as_json: bool) -> None:
    """Show the cluster: status, nodes, endpoint, role, network, creation time.

    \b
    Examples:
        sparkify cluster status
        sparkify cluster status --json
    """
    result = sparkify.cluster.cluster_status(config, dry_run=dry_run)
    if dry_run or result.cluster is None:
        _show_result(result)
        return
    info = result.cluster
    if as_json:
        click.echo(orjson.dumps(info.to_dict()).decode())
        return
    _show_result(result)
    table = RichTable(title=f"Redshift cluster {info.identifier}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    rows = {
        "identifier": info.identifier,
        "status": info.status,
        "nodes": f"{info.nodes} x {info.node_type}",
        "endpoint": info.endpoint or "-",
        "port": str(info.port or "-"),
        "database": info.database,
        "IAM role": "\n".join(info.role_arns) or "-",
        "VPC": info.vpc_id or "-",
        "security groups": ", ".join(info.security_groups) or "-",
        "created at": info.created_at or "-",
        "created by sparkify": "yes" if info.managed_by_sparkify else "no",
    }
    for name, value in rows.items():
        table.add_row(name, value)
    Console(width=max(100, Console().width)).print(table)


@cluster.command("endpoint", short_help="Write HOST and ARN into dwh.cfg.")
@cluster_options(wait=True, anywhere=True)
def cluster_endpoint(
    config: Path, dry_run: bool, timeout: float, poll_interval: float, allow_anywhere: bool
) -> None:
    """Wait for the cluster, ensure its ingress rule, write HOST and ARN into dwh.cfg.

    Only [CLUSTER] HOST and [IAM_ROLE] ARN change; the rest of the file stays as it was.

    \b
    Examples:
        sparkify cluster endpoint --config dwh.cfg
    """
    result = sparkify.cluster.cluster_endpoint(
        config,
        allow_anywhere=allow_anywhere,
        dry_run=dry_run,
        timeout=timeout,
        delay=poll_interval,
        progress=_progress,
    )
    _show_result(result)


@cluster.command("delete", short_help="Delete the cluster, its group and role.")
@cluster_options(wait=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--final-snapshot",
    metavar="ID",
    help="Keep the data in a snapshot with this identifier before deleting.",
)
@click.option("--keep-role", is_flag=True, help="Keep the IAM role sparkify created.")
def cluster_delete(
    config: Path,
    dry_run: bool,
    timeout: float,
    poll_interval: float,
    yes: bool,
    final_snapshot: str | None,
    keep_role: bool,
) -> None:
    """Delete the cluster, then the security group and IAM role that sparkify created.

    Deleting what is already gone says so and succeeds.

    \b
    Examples:
        sparkify cluster delete
        sparkify cluster delete --yes --final-snapshot dwhcluster-final --keep-role
    """
    cfg = sparkify.cluster.load_cluster_config(config)
    if not (yes or dry_run):
        data = (
            f"its data is kept in snapshot {final_snapshot}"
            if final_snapshot
            else "its data is lost"
        )
        click.confirm(f"Delete Redshift cluster {cfg.identifier}? ({data})", abort=True)
    result = sparkify.cluster.delete_cluster(
        cfg,
        final_snapshot=final_snapshot,
        keep_role=keep_role,
        dry_run=dry_run,
        timeout=timeout,
        delay=poll_interval,
        progress=_progress,
    )
    _show_result(result)


def _progress(line: str) -> None:
    click.echo(line, err=True)


def _show_result(result: sparkify.cluster.ClusterResult) -> None:
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if result.dry_run:
        click.echo("Dry run: the AWS calls it would make (nothing was changed):")
        for call in result.calls:
            click.echo(f"  {call}")
        return
    for step in result.steps:
        click.echo(step)
    if result.steps and not result.changed:
        click.echo("Nothing to change.")


def main() -> None:
    cli(prog_name="sparkify")
