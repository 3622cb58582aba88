"""How the report is shown: a self-contained HTML page with charts, Markdown tables, numbers
formatted for people. The figures themselves come from :mod:`sparkify_dagster.report.queries`."""

from __future__ import annotations

import base64
import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import jinja2

from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster.report.data import DASH, WEEKDAYS, ReportData

TEMPLATES = Path(__file__).resolve().parent / "templates"


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
    from sparkify_dagster.report import charts  # matplotlib loads only when a report is drawn

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


def write_html(data: ReportData, out_dir: Path) -> tuple[Path, tuple[Path, ...]]:
    """Write ``report.html`` and the charts' PNG files into ``out_dir``; their paths."""
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
    return html, tuple(paths)


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
        lines += ["No plays in the warehouse yet: materialize the table assets to load data.", ""]
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
