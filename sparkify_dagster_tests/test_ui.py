"""The Dagster UI as users meet it: ``dagster dev`` with the project's instance and workspace,
"Materialize all" through the webserver's GraphQL API, and the pages opened in headless Chromium.

Screenshots of every page are kept in ``$SPARKIFY_TEST_ARTIFACTS`` (default: ``artifacts`` in
pytest's temporary folder), for a person to look at.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sparkify_dagster
from sparkify_dagster.metadata import column_schema, common_folder
from sparkify_dagster.warehouse.model import SONGPLAYS, STAGING_EVENTS, STAGING_SONGS, TIME
from sparkify_dagster.warehouse.quality import checks
from sparkify_dagster_tests.browser import PageReport, Tab, browse, chromium
from sparkify_dagster_tests.dagster_dev import ALL_ASSETS, TABLE_ASSETS, DagsterDev
from sparkify_dagster_tests.helpers import star

needs_chromium = pytest.mark.skipif(
    chromium() is None and os.environ.get("SPARKIFY_REQUIRE_CHROMIUM") != "1",
    reason="chromium is not installed (apt-get install chromium; "
    "SPARKIFY_REQUIRE_CHROMIUM=1 makes this a failure)",
)
BAD_RECORD = '{"ts": "soon", "page": "NextSong"}'


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated dataset with one record that cannot be loaded."""
    folder = tmp_path_factory.mktemp("ui-data")
    sparkify_dagster.generate(folder, songs=300, events=3000, days=3, seed=17)
    day = sorted((folder / "log_data").rglob("*.json"))[-1]
    day.write_text(day.read_text().rstrip("\n") + "\n" + BAD_RECORD + "\n")
    return folder


@pytest.fixture(scope="module")
def server(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    """``dagster dev`` for the whole module: its own home, warehouse and data; one reject
    allowed, so the staging page has a reject to show."""
    folder = tmp_path_factory.mktemp("ui")
    env = {
        "SPARKIFY_TARGET": f"duckdb:///{folder / 'warehouse.duckdb'}",
        "SPARKIFY_SONG_DATA": str(dataset / "song_data"),
        "SPARKIFY_LOG_DATA": str(dataset / "log_data"),
        "SPARKIFY_MAX_ERRORS": "1",
        "SPARKIFY_CACHE": str(folder / "cache"),
        # the partitions: the days of the logs and a few more, missing
        "SPARKIFY_FIRST_DAY": "2018-11-01",
        "SPARKIFY_LAST_DAY": "2018-11-07",
    }
    with DagsterDev(folder / "home", env) as dev:
        yield dev


@pytest.fixture(scope="module")
def materialized(server: DagsterDev) -> dict[str, Any]:
    """The run that "Materialize all" launches, once it has finished."""
    return server.wait(server.launch(ALL_ASSETS))


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(
        os.environ.get("SPARKIFY_TEST_ARTIFACTS") or tmp_path_factory.getbasetemp() / "artifacts"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_materialize_all_builds_the_warehouse(
    server: DagsterDev, materialized: dict[str, Any], dataset: Path, tmp_path: Path
) -> None:
    assert materialized["status"] == "SUCCESS", server.tail()
    run_id = materialized["runId"]
    shown = server.materializations(run_id)
    assert set(shown) == set(ALL_ASSETS)
    results = server.check_results(run_id)
    assert results and all(results.values()), [key for key, ok in results.items() if not ok]
    assert {key.split(":")[0] for key in results} == set(TABLE_ASSETS)

    target = server.env["SPARKIFY_TARGET"]
    reference = f"duckdb:///{tmp_path / 'reference.duckdb'}"
    sparkify_dagster.etl(
        song_data=str(dataset / "song_data"), log_data=str(dataset / "log_data"),
        target=reference, max_errors=1,
    )  # fmt: skip
    counts = sparkify_dagster.analyze(target)
    assert counts == sparkify_dagster.analyze(reference)
    assert star(target) == star(reference)
    for table in TABLE_ASSETS:
        assert shown[table]["dagster/row_count"] == counts[table]
    assert shown["staging_events"]["records_rejected"] == 1
    assert "ts is" in shown["staging_events"]["rejects"]

    report = server.home / "report" / "report.html"
    assert shown["listening_report"]["link"] == report.as_uri()
    assert report.read_text().startswith("<!DOCTYPE html>")


# Each page, the condition that says the app has drawn it, and what a user must see on it.
CHECKS_OF_SONGPLAYS = [check.name for check in checks() if check.table == "songplays"]
PAGES: dict[str, tuple[str, str]] = {
    "lineage": ("/asset-groups", " && ".join(f'has("{name}")' for name in ALL_ASSETS)),
    "songplays": ("/assets/songplays", 'has("Row count") && has("songplay_id")'),
    "songplays-checks": (
        "/assets/songplays?view=checks",
        " && ".join(f'has("{name}")' for name in ["row_count", *CHECKS_OF_SONGPLAYS]),
    ),
    "staging_events": ("/assets/staging_events", 'has("records_rejected") && has("reason")'),
    # The partition bar: each day of the logs, materialized.
    "staging_events-partitions": (
        "/assets/staging_events?view=partitions",
        'has("Partitions") && has("2018-11-0")',
    ),
    "staging_songs": ("/assets/staging_songs", 'has("records_staged")'),
    "listening_report": ("/assets/listening_report", 'has("link") && has("listeners")'),
}
HELPERS = "const has = (text) => document.body.innerText.includes(text);"
POP_UP = """Boolean(document.querySelector('[role="dialog"], .bp5-overlay-open, .bp4-overlay-open'))
    || document.body.innerText.includes("Join the Dagster community")"""
LINKS = 'JSON.stringify(Array.from(document.querySelectorAll("a[href]")).map(a => a.href))'


def visit(
    tab: Tab, server: DagsterDev, name: str, artifacts: Path, *texts: str, scroll_to: str = ""
) -> PageReport:
    """Open one of ``PAGES`` and wait until it shows ``texts`` too; keep its screenshot (from the
    heading ``scroll_to`` down, if given), and check what every page must satisfy."""
    path, ready = PAGES[name]
    ready = " && ".join([ready, *(f"has({json.dumps(text)})" for text in texts)])
    page = tab.visit(server.url + path, ready=f"(() => {{ {HELPERS} return {ready}; }})()")
    if scroll_to:
        tab.scroll_to(scroll_to)
        page = tab.read()
    (artifacts / f"{name}.png").write_bytes(page.screenshot)
    assert page.errors == [], (name, page.errors)
    assert not tab.evaluate(POP_UP), f"{name}: a pop-up covers the page"
    outside = [url for url in page.requests if not url.startswith((server.url, "data:", "blob:"))]
    assert outside == [], (name, outside)  # the UI fetches nothing beyond the webserver
    return page


@needs_chromium
def test_the_pages_users_open_show_the_warehouse(
    server: DagsterDev,
    materialized: dict[str, Any],
    artifacts: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert materialized["status"] == "SUCCESS"
    executable = chromium()
    assert executable, "SPARKIFY_REQUIRE_CHROMIUM=1 but chromium is not installed"
    rows = sparkify_dagster.analyze(server.env["SPARKIFY_TARGET"])
    with browse(executable, width=1400, height=1500) as tab:
        visit(tab, server, "lineage", artifacts)

        count = f"{rows['songplays']:,}"  # the latest row count, as the page writes it
        songplays = visit(tab, server, "songplays", artifacts, count)
        assert SONGPLAYS.doc in songplays.text
        for column in SONGPLAYS.columns:
            assert column.name in songplays.text
        assert "from staging_events.ts" in songplays.text  # where a column's values come from

        checks_page = visit(tab, server, "songplays-checks", artifacts)
        assert "offending_rows" in checks_page.text  # the latest check's evidence

        staging = visit(tab, server, "staging_events", artifacts, scroll_to="Metadata")
        assert STAGING_EVENTS.doc in staging.text
        assert "records_rejected" in staging.text and "soon" in staging.text  # the reject

        partitions = visit(tab, server, "staging_events-partitions", artifacts)
        days = len(list((Path(server.env["SPARKIFY_LOG_DATA"])).rglob("*.json")))
        assert f"Materialized ({days})" in partitions.text and "Missing (" in partitions.text

        # Row count over time: the metadata's plots, one per numeric entry (of a whole table:
        # a partitioned one plots per day).
        visit(tab, server, "staging_songs", artifacts, scroll_to="Metadata")
        tab.evaluate(
            'Array.from(document.querySelectorAll("button"))'
            '.find(b => b.innerText.trim() == "Plots").click()'
        )
        tab.wait_until('document.body.innerText.includes("dagster/row_count")')
        tab.scroll_to("Metadata")
        plots = tab.read()
        (artifacts / "staging_songs-plots.png").write_bytes(plots.screenshot)
        assert plots.errors == []
        assert "records_staged" in plots.text

        visit(tab, server, "listening_report", artifacts)
        links = json.loads(tab.evaluate(LINKS))
        assert (server.home / "report" / "report.html").as_uri() in links

    with capsys.disabled():
        print(f"\nscreenshots of the Dagster UI: {artifacts}")


def test_what_the_pages_say_is_built_from_the_model() -> None:
    assert common_folder(["/d/log/2018/11/a.json", "/d/log/2018/12/b.json"]) == "/d/log/2018/"
    assert common_folder(["s3://bucket/log_data/a.json"]) == "s3://bucket/log_data/"
    assert common_folder(["a.json", "/x/b.json"]) == ""
    described = {c.name: c.description for c in column_schema(STAGING_EVENTS).columns}
    assert described["item_in_session"] == "from each event's itemInSession"
    assert described["ts"] == "epoch milliseconds; from each event's ts"
    keys = {c.name: c.constraints for c in column_schema(STAGING_SONGS).columns}
    assert keys["source_line"].other == ["key: source_file + source_line"]
    assert next(c for c in column_schema(TIME).columns if c.name == "start_time").constraints.unique


BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
BACKFILL_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } }
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
    ... on Runs { results { runId status tags { key value } } }
  }
}"""


def backfill(server: DagsterDev, assets: list[str], days: list[str]) -> list[dict[str, Any]]:
    """Launch the backfill the UI's dialog launches for ``assets`` over ``days``; its runs, once
    it has completed."""
    params = {
        "assetSelection": [{"path": [name]} for name in assets],
        "partitionNames": days,
        "fromFailure": False,
    }
    launched = server.graphql(BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    deadline = time.monotonic() + 180
    while True:
        status = server.graphql(BACKFILL_STATUS, {"id": launched["backfillId"]})
        runs: list[dict[str, Any]] = status["runsOrError"]["results"]
        done = status["partitionBackfillOrError"]["status"].startswith("COMPLETED")
        if done and runs and all(run["status"] in ("SUCCESS", "FAILURE") for run in runs):
            return runs
        assert time.monotonic() < deadline, (status, server.tail())
        time.sleep(1)


def test_a_backfill_from_the_ui_runs_its_days_as_one_run(
    server: DagsterDev, materialized: dict[str, Any]
) -> None:
    """What the backfill dialog launches for the day-partitioned tables over every day: one run
    for all the days, in one process."""
    assert materialized["status"] == "SUCCESS"
    days = sorted(path.name[:10] for path in Path(server.env["SPARKIFY_LOG_DATA"]).rglob("*.json"))
    (run,) = backfill(server, ["staging_events", "songplays", "time"], days)
    assert run["status"] == "SUCCESS"
    tags = {tag["key"]: tag["value"] for tag in run["tags"]}
    assert tags["dagster/asset_partition_range_start"] == days[0]
    assert tags["dagster/asset_partition_range_end"] == days[-1]
