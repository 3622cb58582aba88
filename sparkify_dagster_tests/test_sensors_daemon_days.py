"""The sensors under the real ``dagster-daemon`` when one tick finds several days: one run stages
them, one backfill run builds them, then the report once."""

from __future__ import annotations

from pathlib import Path

import pytest

import sparkify_dagster
from sparkify_dagster_tests.daemon import (
    FOLLOWED,
    Daemon,
    catalogue_first,
)
from sparkify_dagster_tests.helpers import Store, star


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_the_days_one_tick_finds_are_built_in_one_run_then_the_report(
    daemon: tuple[Daemon, str], store: Store, tmp_path: Path
) -> None:
    """Three days' logs land at once: one run of new_logs stages them, the automation sensor asks
    for them as one backfill, which their single-run backfill policy makes one run, and for
    users beside it; the report follows once, when the backfill is done (the backfill daemon
    looks every 30 seconds)."""
    running, target = daemon
    data = sparkify_dagster.generate(tmp_path / "gen", songs=40, events=300, days=3, seed=4)
    catalogue_first(running, store, data.song_data)
    before = {run.run_id for run in running.runs()}
    store.upload(data.log_data, "log_data")
    running.wait_for_run("new_logs", before)
    new = [run for run in running.followed(FOLLOWED + 60) if run.run_id not in before]

    built = {run.run_id: {asset for _, asset, _ in running.built([run])} for run in new}
    by_asset = {
        asset: [run_id for run_id, assets in built.items() if asset in assets]
        for asset in ("staging_events", "songplays", "users", "listening_report")
    }
    assert all(len(runs) == 1 for runs in by_asset.values()), by_asset  # one run each
    (days,) = [run for run in new if run.run_id in by_asset["songplays"]]
    assert "dagster/backfill" in days.tags
    assert built[days.run_id] == {"songplays", "time"}
    assert running.days([days], "songplays") == {"2018-11-01", "2018-11-02", "2018-11-03"}

    reference = f"duckdb:///{tmp_path / 'clean.duckdb'}"
    sparkify_dagster.etl(
        song_data=str(data.song_data), log_data=str(data.log_data), target=reference
    )
    assert star(target) == star(reference)
