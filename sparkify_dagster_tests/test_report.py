"""The report: figures computed in the warehouse, HTML that opens offline, Markdown, the CLI."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from pathlib import Path

import pytest

import sparkify_dagster
from sparkify_dagster.core.errors import ConfigError, WarehouseError
from sparkify_dagster.report import charts, report
from sparkify_dagster.report.queries import describe_user_agent, gather
from sparkify_dagster_tests.browser import chromium, open_page
from sparkify_dagster_tests.helpers import event, song, write_events, write_songs

T0 = 1541105830796  # 2018-11-01 20:57:10.796 UTC, a Thursday
MINUTE = 60_000
DAY = "log_data/2018/11/2018-11-01-events.json"
PNG = b"\x89PNG\r\n\x1a\n"
CHARTS = {
    "plays-per-day",
    "active-users",
    "heatmap",
    "top-songs",
    "top-artists",
    "level-changes",
    "sessions",
    "states",
    "platforms",
}
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0"
needs_chromium = pytest.mark.skipif(
    chromium() is None and os.environ.get("SPARKIFY_REQUIRE_CHROMIUM") != "1",
    reason="chromium is not installed (apt-get install chromium; "
    "SPARKIFY_REQUIRE_CHROMIUM=1 makes this a failure)",
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A warehouse loaded from a small generated dataset (every section has data)."""
    folder = tmp_path_factory.mktemp("generated")
    data = sparkify_dagster.generate(folder / "data", songs=300, events=4000, days=10, seed=3)
    target = f"duckdb:///{folder / 'warehouse.duckdb'}"
    sparkify_dagster.etl(song_data=str(data.song_data), log_data=str(data.log_data), target=target)
    return target


@pytest.fixture
def empty(duckdb_target: str) -> str:
    sparkify_dagster.create_tables(duckdb_target)
    return duckdb_target


def test_figures_are_computed_from_the_star(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "Soul Deep", "ARBOX", "The Box Tops", 1.5)])
    chicago = "Chicago-Naperville-Elgin, IL-IN-WI"
    write_events(
        dataset / DAY,
        [
            # user 7: one session of three plays over 20 minutes, one of them matched
            event(T0, song="Soul Deep", artist="The Box Tops", length=1.5, location=chicago),
            event(T0 + 10 * MINUTE, location=chicago, userAgent=FIREFOX_MAC),
            event(T0 + 20 * MINUTE, location=chicago),
            event(T0 + 21 * MINUTE, page="Submit Upgrade"),
            # user 9, paid, abroad, a single play in another session
            event(T0 + MINUTE, user_id="9", level="paid", sessionId=2, location="Toronto, ON"),
            # a logged-out visitor's play: no location, no user
            event(T0 + 2 * MINUTE, user_id="", sessionId=3),
        ],
    )
    sparkify_dagster.etl(
        song_data=str(dataset / "song_data"), log_data=str(dataset / "log_data"), target=target
    )
    with sparkify_dagster.connect(target) as warehouse:
        data = gather(warehouse)

    overview = data.overview
    assert (overview.plays, overview.matched_plays, overview.unmatched_plays) == (5, 1, 4)
    assert (overview.listeners, overview.sessions) == (2, 3)
    assert [(row.name, row.detail, row.plays) for row in data.top_songs] == [
        ("Soul Deep", "The Box Tops", 1)
    ]
    assert [(row.name, row.plays) for row in data.top_artists] == [("The Box Tops", 1)]
    assert [
        (d.day.isoformat(), d.plays, d.active_users, d.free_plays, d.paid_plays) for d in data.days
    ] == [("2018-11-01", 5, 2, 4, 1)]
    assert data.heatmap[3][20] + data.heatmap[3][21] == 5  # Thursday evening
    assert sum(map(sum, data.heatmap)) == 5
    assert data.level_plays == {"free": (4, 1), "paid": (1, 1)}
    assert data.level_users == {"free": 1, "paid": 1}  # users by the level of their latest event
    assert [(c.upgrades, c.downgrades) for c in data.level_changes] == [(1, 0)]
    assert data.sessions == [("one play", 2, 2), ("10\u201330 min", 1, 3)]
    assert [(s.detail, s.name, s.plays, s.listeners) for s in data.states] == [
        ("IL", "Illinois", 3, 1)
    ]
    assert data.unknown_state_plays == 2  # Toronto, and the visitor without a location
    agents = {(row.name, row.detail): row.plays for row in data.user_agents}
    assert agents[("Firefox 31", "Mac OS X 10.9")] == 1
    assert sum(plays for _, plays in data.platforms) == 5


def test_user_agents_are_named_for_people() -> None:
    assert describe_user_agent(f'"{FIREFOX_MAC}"') == ("Firefox 31", "Mac OS X 10.9", "Mac OS X")
    assert describe_user_agent(None) == ("unknown", "unknown", "unknown")
    assert describe_user_agent("Mozilla\\/5.0")[0] == "unknown"


def test_html_report_is_self_contained(generated: str, tmp_path: Path) -> None:
    result = report(generated, tmp_path / "out")
    assert result.html == tmp_path / "out" / "report.html"
    assert {path.stem for path in result.charts} == CHARTS
    for path in result.charts:
        assert path.read_bytes().startswith(PNG)
    html = result.html.read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]*)"', html)
    assert len(sources) == len(CHARTS)
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert f"{result.data.overview.plays:,}" in html
    assert "No data" not in html


def test_empty_warehouse_gives_a_report_with_notes(empty: str, tmp_path: Path) -> None:
    result = report(empty, tmp_path)
    assert result.charts == ()
    html = result.html.read_text(encoding="utf-8") if result.html else ""
    assert "No plays yet" in html
    assert html.count('class="empty"') >= 6
    assert "<img" not in html
    markdown = report(empty, format="markdown").markdown or ""
    assert "No plays in the warehouse yet" in markdown


def test_a_warehouse_without_tables_says_to_run_etl(target: str, tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match=r"has no table .*materialize the table assets"):
        report(target, tmp_path)


def test_unknown_format_is_refused(empty: str) -> None:
    with pytest.raises(ConfigError, match="unknown report format 'pdf': use one of html"):
        report(empty, format="pdf")


@needs_chromium
@pytest.mark.parametrize("which", ["generated", "empty"])
def test_report_opens_in_a_browser_without_errors(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    result = report(request.getfixturevalue(which), tmp_path / "out")
    assert result.html is not None
    executable = chromium()
    assert executable, "SPARKIFY_REQUIRE_CHROMIUM=1 but chromium is not installed"
    page = open_page(result.html, executable)
    assert page.errors == []
    assert page.title == "Sparkify listening report"
    assert len(page.images) == len(result.charts)
    assert all(image["complete"] and image["width"] > 0 for image in page.images), page.images
    assert all(url.startswith(("file:", "data:")) for url in page.requests), page.requests
    assert page.screenshot.startswith(PNG)
    (tmp_path / "screenshot.png").write_bytes(page.screenshot)


@needs_chromium
def test_browser_check_catches_broken_images_and_console_errors(tmp_path: Path) -> None:
    page_path = tmp_path / "broken.html"
    page_path.write_text(
        '<!DOCTYPE html><title>t</title><img src="missing.png"><script>console.error("x")</script>'
    )
    executable = chromium()
    assert executable
    page = open_page(page_path, executable)
    assert page.images[0]["width"] == 0
    assert any(error.startswith("console:") for error in page.errors)
    assert any(error.startswith("failed to load") for error in page.errors)


def test_titles_with_dollar_signs_are_text_in_every_chart(
    dataset: Path, duckdb_target: str, tmp_path: Path
) -> None:
    """matplotlib reads ``$…$`` as mathematics unless told not to: ``$$`` and ``$\\frac$``
    crashed the report."""
    titles = ["$$", "$\\frac$", "Cash $5 $6", "50% off_^"]
    write_songs(
        dataset / "song_data",
        [song(f"SOAA{n}", title, f"AR{n}", f"Artist {n}", 1.5) for n, title in enumerate(titles)],
    )
    write_events(
        dataset / DAY,
        [
            event(T0 + n * MINUTE, song=title, artist=f"Artist {n}", length=1.5)
            for n, title in enumerate(titles)
        ],
    )
    sparkify_dagster.etl(
        song_data=str(dataset / "song_data"),
        log_data=str(dataset / "log_data"),
        target=duckdb_target,
    )
    result = report(duckdb_target, tmp_path / "out")
    assert result.html is not None
    assert "$\\frac$" in result.html.read_text()


def test_a_huge_user_agent_is_described_quickly() -> None:
    huge = "Mozilla/5.0 (" + "X" * 20_000_000 + ")"
    started = time.monotonic()
    assert describe_user_agent(huge)[0] == "unknown"
    assert time.monotonic() - started < 5
    assert describe_user_agent(FIREFOX_MAC)[:2] == ("Firefox 31", "Mac OS X 10.9")


@pytest.mark.parametrize(
    "days",
    [
        [dt.date(1970, 1, 1), dt.date(9998, 12, 31)],
        [dt.date(5000, 1, 1), dt.date(9998, 12, 31)],
        [dt.date(9998, 12, 31)],
        [dt.date(1970, 1, 1)],
    ],
    ids=["1970-to-9998", "5000-to-9998", "last-day", "first-day"],
)
def test_date_charts_draw_any_span_staging_accepts(days: list[dt.date]) -> None:
    """matplotlib's margins padded a span reaching 9998 past year 9999, which it cannot draw."""
    ones = [1] * len(days)
    for png in (
        charts.plays_per_day(days, ones, ones),
        charts.active_users(days, ones),
        charts.level_changes(days, ones, ones),
    ):
        assert png.startswith(PNG)
