"""Report: what users listen to, computed in the warehouse and shown to people.

Every figure comes from one SQL query in ``sparkify/sql/report/`` run inside the warehouse, so the
report works on any engine and never pulls the fact table into Python. Python only names things
(US states, browsers) and draws. :func:`report` writes ``report.html`` (one self-contained file:
charts are embedded, nothing is fetched) plus each chart as a PNG, or returns Markdown tables::

    >>> import sparkify
    >>> result = sparkify.report("duckdb:///sparkify.duckdb", "report")  # doctest: +SKIP
    >>> result.html  # doctest: +SKIP
    PosixPath('report/report.html')
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2

from sparkify.errors import ConfigError, WarehouseError
from sparkify.model import STAGING_EVENTS, STAR_TABLES
from sparkify.settings import DEFAULT_TARGET, redact
from sparkify.warehouses import Warehouse, connect

Format = Literal["html", "markdown"]
FORMATS: tuple[str, ...] = ("html", "markdown")
TEMPLATES = Path(__file__).resolve().parent / "templates"

DASH = "\u2013"  # an en dash: ranges and missing values
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SESSION_BUCKETS = {
    1: "one play",
    2: "< 10 min",
    3: f"10{DASH}30 min",
    4: f"30{DASH}60 min",
    5: f"1{DASH}2 h",
    6: f"2{DASH}4 h",
    7: "4 h +",
}
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
class Overview:
    plays: int
    matched_plays: int
    listeners: int
    sessions: int
    first_play: dt.datetime | None
    last_play: dt.datetime | None
    median_session_plays: float | None
    median_session_minutes: float | None

    @property
    def unmatched_plays(self) -> int:
        return self.plays - self.matched_plays

    @property
    def coverage(self) -> float | None:
        """Share of plays matched to a catalogue song, ``None`` without plays."""
        return self.matched_plays / self.plays if self.plays else None


@dataclass(frozen=True)
class Day:
    day: dt.date
    plays: int
    active_users: int
    free_plays: int
    paid_plays: int


@dataclass(frozen=True)
class LevelChanges:
    day: dt.date
    upgrades: int
    downgrades: int


@dataclass(frozen=True)
class Ranked:
    """One row of a top-N list: ``name`` (and ``detail``, e.g. the artist of a song)."""

    name: str
    detail: str
    plays: int
    listeners: int


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, as plain values (see the queries in ``sql/report``)."""

    warehouse: str
    overview: Overview
    days: list[Day]
    heatmap: list[list[int]]  # [weekday 0 = Monday][hour 0-23] -> plays
    top_songs: list[Ranked]
    top_artists: list[Ranked]
    level_plays: dict[str, tuple[int, int]]  # level -> (plays, listeners)
    level_users: dict[str, int]  # latest level -> users
    level_changes: list[LevelChanges]
    sessions: list[tuple[str, int, int]]  # (length, sessions, plays)
    states: list[Ranked]  # name = state name, detail = code
    unknown_state_plays: int  # plays whose location names no US state (or no location)
    user_agents: list[Ranked]  # name = browser, detail = operating system
    platforms: list[tuple[str, int]]  # (operating system, plays)

    @property
    def empty(self) -> bool:
        return self.overview.plays == 0


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
    if format not in FORMATS:
        raise ConfigError(f"unknown report format {format!r}: use one of {', '.join(FORMATS)}")
    with connect(target) as warehouse:
        data = gather(warehouse, name=redact(target))
    if format == "markdown":
        return ReportResult(data, format, markdown=to_markdown(data))
    return write_html(data, Path(out_dir))


def gather(warehouse: Warehouse, *, name: str | None = None) -> ReportData:
    """Run every report query in ``warehouse`` and shape the results."""
    needed = [table.name for table in (*STAR_TABLES, STAGING_EVENTS)]
    missing = [table for table in needed if table not in warehouse.table_names()]
    if missing:
        raise WarehouseError(
            f"{name or warehouse!r} has no table {', '.join(missing)}: "
            "run `sparkify etl` before `sparkify report`"
        )

    def run(query: str) -> list[tuple[Any, ...]]:
        return warehouse.query(warehouse.render(f"report/{query}.sql"))

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


@functools.lru_cache(maxsize=1024)
def describe_user_agent(agent: str | None) -> tuple[str, str, str]:
    """``(browser, operating system, platform)`` of a user agent string, for people.

    >>> describe_user_agent("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko")
    ('IE 11', 'Windows 7', 'Windows')
    """
    if not agent:
        return "unknown", "unknown", "unknown"
    from ua_parser import parse

    parsed = parse(agent.strip().strip('"'))
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


# -- HTML ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    name: str  # the PNG's file name without .png
    title: str  # alternative text
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def draw(data: ReportData) -> dict[str, Chart]:
    """Every chart the data allows, by name; a section without data has no chart."""
    from sparkify import charts  # matplotlib loads only when a report is drawn

    drawn: dict[str, Chart] = {}

    def add(name: str, title: str, png: bytes) -> None:
        drawn[name] = Chart(name, title, png)

    if data.days:
        days = [row.day for row in data.days]
        add(
            "plays-per-day",
            "Plays per day, free and paid",
            charts.plays_per_day(
                days, [row.free_plays for row in data.days], [row.paid_plays for row in data.days]
            ),
        )
        add(
            "active-users",
            "Active users per day",
            charts.active_users(days, [row.active_users for row in data.days]),
        )
        add("heatmap", "Plays by weekday and hour", charts.heatmap(data.heatmap, WEEKDAYS))
    if data.top_songs:
        add(
            "top-songs",
            "Top songs by plays",
            charts.ranked(
                [
                    f"{row.name} — {row.detail}" if row.detail else row.name
                    for row in data.top_songs
                ],
                [row.plays for row in data.top_songs],
                "Top songs (plays matched to the catalogue)",
                "Plays",
            ),
        )
    if data.top_artists:
        add(
            "top-artists",
            "Top artists by plays",
            charts.ranked(
                [row.name for row in data.top_artists],
                [row.plays for row in data.top_artists],
                "Top artists (plays matched to the catalogue)",
                "Plays",
            ),
        )
    if data.level_changes:
        add(
            "level-changes",
            "Upgrades and downgrades per day",
            charts.level_changes(
                [row.day for row in data.level_changes],
                [row.upgrades for row in data.level_changes],
                [row.downgrades for row in data.level_changes],
            ),
        )
    if data.sessions:
        add(
            "sessions",
            "Session length distribution",
            charts.sessions(
                [label for label, _, _ in data.sessions], [n for _, n, _ in data.sessions]
            ),
        )
    if data.states:
        top = data.states[:15]
        add(
            "states",
            "Plays by US state",
            charts.ranked(
                [f"{row.name} ({row.detail})" for row in top],
                [row.plays for row in top],
                f"Plays by US state (top {len(top)} of {len(data.states)})",
                "Plays",
            ),
        )
    if data.platforms:
        add(
            "platforms",
            "Plays by platform",
            charts.ranked(
                [name for name, _ in data.platforms[:10]],
                [plays for _, plays in data.platforms[:10]],
                "Plays by platform (operating system of the user agent)",
                "Plays",
            ),
        )
    return drawn


def write_html(data: ReportData, out_dir: Path) -> ReportResult:
    """Write ``report.html`` and the charts' PNG files into ``out_dir``."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create report folder {out_dir}: {exc.strerror}") from None
    drawn = draw(data)
    paths = []
    for chart in drawn.values():
        path = out_dir / f"{chart.name}.png"
        path.write_bytes(chart.png)
        paths.append(path)
    html = out_dir / "report.html"
    html.write_text(render_html(data, drawn), encoding="utf-8")
    return ReportResult(data, "html", html=html, charts=tuple(paths))


def render_html(data: ReportData, drawn: dict[str, Chart]) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(data=data, charts=drawn, generated=_now(), weekdays=WEEKDAYS)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["number"] = number
    environment.filters["percent"] = percent
    environment.filters["minutes"] = minutes
    return environment


# -- formatting for people ----------------------------------------------------------------------


def number(value: float | None) -> str:
    """``1234567`` as ``1,234,567``; ``None`` as an en dash."""
    if value is None:
        return DASH
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def percent(value: float | None) -> str:
    """A share as ``31.2 %``; ``None`` as an en dash."""
    return DASH if value is None else f"{value * 100:.1f} %"


def minutes(value: float | None) -> str:
    """Minutes as ``42 min`` or ``2 h 5 min``."""
    if value is None:
        return DASH
    whole = round(value)
    if whole < 60:
        return f"{whole} min"
    return f"{whole // 60} h {whole % 60} min"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# -- Markdown -----------------------------------------------------------------------------------


def to_markdown(data: ReportData) -> str:
    """The report's key tables as GitHub-flavoured Markdown."""
    o = data.overview
    lines = ["# Sparkify listening report", "", f"Warehouse: `{data.warehouse}`", ""]
    if data.empty:
        lines += ["No plays in the warehouse yet: run `sparkify etl` to load data.", ""]
        return "\n".join(lines)
    lines += _table(
        ["figure", "value"],
        [
            ["plays", number(o.plays)],
            ["listeners", number(o.listeners)],
            ["sessions", number(o.sessions)],
            ["period (UTC)", f"{o.first_play:%Y-%m-%d} to {o.last_play:%Y-%m-%d}"],
            [
                "plays matched to a catalogue song",
                f"{number(o.matched_plays)} ({percent(o.coverage)})",
            ],
            ["plays with no catalogue song", number(o.unmatched_plays)],
            [
                "median session",
                f"{number(o.median_session_plays)} plays, {minutes(o.median_session_minutes)}",
            ],
        ],
        "## Overview",
    )
    lines += _table(
        ["song", "artist", "plays", "listeners"],
        [[r.name, r.detail, number(r.plays), number(r.listeners)] for r in data.top_songs],
        "## Top songs",
        empty="No play matched a catalogue song.",
    )
    lines += _table(
        ["artist", "plays", "listeners"],
        [[r.name, number(r.plays), number(r.listeners)] for r in data.top_artists],
        "## Top artists",
        empty="No play matched a catalogue artist.",
    )
    lines += _table(
        ["level", "plays", "share of plays", "listeners", "users now"],
        [
            [
                level,
                number(plays),
                percent(_share(plays, o.plays)),
                number(users),
                number(data.level_users.get(level, 0)),
            ]
            for level, (plays, users) in sorted(data.level_plays.items())
        ],
        "## Free and paid",
    )
    upgrades = sum(row.upgrades for row in data.level_changes)
    downgrades = sum(row.downgrades for row in data.level_changes)
    lines += [f"Upgrades: {number(upgrades)}; downgrades: {number(downgrades)}.", ""]
    lines += _table(
        ["session length", "sessions", "plays"],
        [[label, number(count), number(plays)] for label, count, plays in data.sessions],
        "## Sessions",
    )
    lines += _table(
        ["state", "plays", "listeners"],
        [
            [f"{r.name} ({r.detail})", number(r.plays), number(r.listeners)]
            for r in data.states[:15]
        ],
        "## Plays by US state",
        empty="No play has a US location.",
    )
    lines += [f"Plays without a US state: {number(data.unknown_state_plays)}.", ""]
    lines += _table(
        ["browser", "operating system", "plays", "share"],
        [
            [r.name, r.detail, number(r.plays), percent(_share(r.plays, o.plays))]
            for r in data.user_agents[:10]
        ],
        "## Top user agents",
    )
    return "\n".join(lines)


def _table(
    header: list[str], rows: list[list[str]], title: str, *, empty: str = "No data."
) -> list[str]:
    lines = [title, ""]
    if not rows:
        return [*lines, empty, ""]
    numeric = [all(_looks_numeric(row[i]) for row in rows) for i in range(len(header))]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("| " + " | ".join("---:" if right else "---" for right in numeric) + " |")
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return [*lines, ""]


def _looks_numeric(cell: str) -> bool:
    return cell.replace(",", "").replace(".", "").replace(" %", "").isdigit()
