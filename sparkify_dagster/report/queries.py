"""Report: what users listen to, computed in the warehouse and shown to people.

Every figure comes from one SQL query in ``report/sql/`` run inside the warehouse, so the report
works on any engine and never pulls the fact table into Python. Python only names things (US
states, browsers) and draws (:mod:`~sparkify_dagster.report.presentation`). :func:`report` writes
``report.html`` (one self-contained file: charts are embedded, nothing is fetched) plus each chart
as a PNG, or returns Markdown tables::

    >>> from sparkify_dagster.report import report
    >>> result = report("duckdb:///sparkify.duckdb", "report")  # doctest: +SKIP
    >>> result.html  # doctest: +SKIP
    PosixPath('report/report.html')
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkify_dagster.core.errors import ConfigError, WarehouseError
from sparkify_dagster.core.settings import DEFAULT_TARGET, redact
from sparkify_dagster.report import presentation
from sparkify_dagster.report.data import (
    SESSION_BUCKETS,
    WEEKDAYS,
    Day,
    LevelChanges,
    Overview,
    Ranked,
    ReportData,
)
from sparkify_dagster.warehouse.engines import Warehouse, connect
from sparkify_dagster.warehouse.model import STAGING_EVENTS, STAR_TABLES

FORMATS: tuple[str, ...] = ("html", "markdown")

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "PR": "Puerto Rico", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
    "WY": "Wyoming",
}  # fmt: skip


@dataclass(frozen=True)
class ReportResult:
    """What :func:`report` made: the HTML file and charts, or the Markdown text."""

    data: ReportData
    format: str
    html: Path | None = None
    charts: tuple[Path, ...] = ()
    markdown: str | None = None


def report(
    target: str = DEFAULT_TARGET,
    out_dir: str | Path = "report",
    *,
    format: str = "html",
) -> ReportResult:
    """Compute the report from the warehouse ``target``; write it to ``out_dir`` or as Markdown.

    ``format="html"`` writes ``out_dir/report.html`` (self-contained) and one PNG per chart;
    ``format="markdown"`` writes nothing and returns the key tables as Markdown text.
    """
    with connect(target) as warehouse:
        return render_report(warehouse, out_dir, format=format, name=redact(target))


def render_report(
    warehouse: Warehouse,
    out_dir: str | Path = "report",
    *,
    format: str = "html",
    name: str | None = None,
) -> ReportResult:
    """:func:`report` on an open ``warehouse``, shown as ``name``."""
    if format not in FORMATS:
        raise ConfigError(f"unknown report format {format!r}: use one of {', '.join(FORMATS)}")
    data = gather(warehouse, name=name)
    if format == "markdown":
        return ReportResult(data, format, markdown=presentation.to_markdown(data))
    html, charts = presentation.write_html(data, Path(out_dir))
    return ReportResult(data, format, html=html, charts=charts)


def gather(warehouse: Warehouse, *, name: str | None = None) -> ReportData:
    """Run every report query in ``warehouse`` and shape the results."""
    needed = [table.name for table in (*STAR_TABLES, STAGING_EVENTS)]
    missing = [table for table in needed if table not in warehouse.table_names()]
    if missing:
        raise WarehouseError(
            f"{name or warehouse!r} has no table {', '.join(missing)}: "
            "materialize the table assets before the report"
        )

    def run(query: str) -> list[tuple[Any, ...]]:
        return warehouse.query(warehouse.render(f"report/sql/{query}.sql"))

    ((plays, matched, listeners, first, last),) = run("overview")
    ((sessions, median_plays, median_minutes),) = run("session_summary")
    overview = Overview(
        int(plays),
        int(matched),
        int(listeners),
        int(sessions),
        first,
        last,
        _float(median_plays),
        _float(median_minutes),
    )
    heatmap = [[0] * 24 for _ in WEEKDAYS]
    for weekday, hour, count in run("hour_weekday"):
        heatmap[int(weekday) - 1][int(hour)] = int(count)
    level_plays: dict[str, tuple[int, int]] = {}
    level_users: dict[str, int] = {}
    for measure, level, count, users in run("levels"):
        label = level or "unknown"
        if measure == "plays":
            level_plays[label] = (int(count), int(users))
        else:
            level_users[label] = int(users)
    days = [Day(day, *map(int, rest)) for day, *rest in run("daily")]
    states, unknown_state_plays = _states(run("states"), overview.plays)
    user_agents, platforms = _user_agents(run("user_agents"), overview.plays)
    return ReportData(
        warehouse=name or repr(warehouse),
        overview=overview,
        days=days,
        heatmap=heatmap,
        top_songs=[
            Ranked(title or "(untitled)", artist or "", int(plays), int(users))
            for title, artist, plays, users in run("top_songs")
        ],
        top_artists=[
            Ranked(artist or "(unnamed)", "", int(plays), int(users))
            for artist, plays, users in run("top_artists")
        ],
        level_plays=level_plays,
        level_users=level_users,
        level_changes=[
            LevelChanges(day, int(up), int(down)) for day, up, down in run("level_changes")
        ],
        sessions=[
            (SESSION_BUCKETS[int(bucket)], int(count), int(plays))
            for bucket, count, plays in run("sessions")
        ],
        states=states,
        unknown_state_plays=unknown_state_plays,
        user_agents=user_agents,
        platforms=platforms,
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _states(rows: Sequence[tuple[Any, ...]], plays: int) -> tuple[list[Ranked], int]:
    """US states by plays, and the plays that name no US state (no location, or abroad)."""
    states = [
        Ranked(US_STATES[code], code, int(count), int(users))
        for code, count, users in rows
        if code in US_STATES
    ]
    return states, plays - sum(state.plays for state in states)


def _user_agents(
    rows: Sequence[tuple[Any, ...]], plays: int
) -> tuple[list[Ranked], list[tuple[str, int]]]:
    """Plays by readable browser and operating system, and by operating system alone."""
    by_agent: dict[tuple[str, str], list[int]] = {}
    by_system: dict[str, int] = {}
    for agent, count, users in rows:
        browser, system, family = describe_user_agent(agent)
        totals = by_agent.setdefault((browser, system), [0, 0])
        totals[0] += int(count)
        totals[1] += int(users)
        by_system[family] = by_system.get(family, 0) + int(count)
    rest = plays - sum(by_system.values())
    if rest:
        by_system["other"] = by_system.get("other", 0) + rest
    agents = [
        Ranked(browser, system, count, users)
        for (browser, system), (count, users) in by_agent.items()
    ]
    agents.sort(key=lambda row: (-row.plays, row.name, row.detail))
    return agents, sorted(by_system.items(), key=lambda item: (-item[1], item[0]))


# Characters of a user agent that are parsed: real ones are a few hundred long, and the parser's
# patterns take time that grows with the text (a minute for 20 MB).
USER_AGENT_LIMIT = 1024


@functools.lru_cache(maxsize=1024)
def describe_user_agent(agent: str | None) -> tuple[str, str, str]:
    """``(browser, operating system, platform)`` of a user agent string, for people.

    >>> describe_user_agent("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko")
    ('IE 11', 'Windows 7', 'Windows')
    """
    if not agent:
        return "unknown", "unknown", "unknown"
    from ua_parser import parse

    parsed = parse(agent[:USER_AGENT_LIMIT].strip().strip('"'))
    browser = "unknown"
    if parsed.user_agent is not None and parsed.user_agent.family != "Other":
        browser = " ".join(
            part for part in (parsed.user_agent.family, parsed.user_agent.major) if part
        )
    system = platform = "unknown"
    if parsed.os is not None and parsed.os.family != "Other":
        platform = parsed.os.family
        version = ".".join(part for part in (parsed.os.major, parsed.os.minor) if part)
        system = " ".join(part for part in (platform, version) if part)
    return browser, system, platform
