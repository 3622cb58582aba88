"""The sensors under the real ``dagster-daemon``: files land, the sensors' runs stage exactly them,
the automation sensor's runs build the star tables for the days staged, then the report, and the
warehouse equals one clean load of the same files. On S3 (moto on loopback) and on a local
folder. (Several days in one tick: ``test_sensors_daemon_days.py``.)"""

from __future__ import annotations

from pathlib import Path

import sparkify_dagster
from sparkify_dagster_tests.daemon import (
    AUTOMATION,
    Daemon,
    catalogue_first,
    lines,
    sensor_of,
)
from sparkify_dagster_tests.helpers import Store, of_data, star


def test_a_new_log_is_staged_then_its_day_built_then_the_report(
    daemon: tuple[Daemon, str], store: Store, tmp_path: Path
) -> None:
    """The catalogue built, a day's log lands, then a late one: each time, a run of new_logs
    stages that file; the automation sensor asks for that day of songplays and time and for
    users, and once they are built, for the report."""
    running, target = daemon
    data = sparkify_dagster.generate(tmp_path / "gen", songs=40, events=300, days=2, seed=3)
    catalogue_first(running, store, data.song_data)

    late = data.log_data / "2018/11/2018-11-01-events.json"  # sorts before the one seen
    for path in (data.log_data / "2018/11/2018-11-02-events.json", late):
        before = {run.run_id for run in running.runs()}
        store.put(f"log_data/{path.relative_to(data.log_data).as_posix()}", path.read_bytes())
        running.wait_for_run("new_logs", before)
        new = [run for run in running.followed() if run.run_id not in before]

        (logs,) = [run for run in new if sensor_of(run) == "new_logs"]
        assert running.staged(logs) == {"files": 1, "records": lines(path)}
        assert [asset for _, asset, _ in running.built([logs])] == ["staging_events"]
        automation = [run for run in new if sensor_of(run) == "automation"]
        assert all(run.tags["dagster/sensor_name"] == AUTOMATION for run in automation)
        assert sorted(asset for _, asset, _ in running.built(automation)) == [
            "listening_report", "songplays", "time", "users",
        ]  # each once, the report last  # fmt: skip
        assert running.days(automation, "songplays") == {path.name[:10]}

    reference = f"duckdb:///{tmp_path / 'clean.duckdb'}"
    sparkify_dagster.etl(
        song_data=str(data.song_data), log_data=str(data.log_data), target=reference
    )
    assert of_data(sparkify_dagster.analyze(target)) == of_data(sparkify_dagster.analyze(reference))
    assert star(target) == star(reference)
