"""Progress where it is read: a staging step's lines and the library's notices in the run's
event log, between the step's start and its materialization; ``etl(quiet=False)`` on stderr."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, EventLogEntry, materialize

import sparkify_dagster
from sparkify_dagster.assets import staging_events, staging_songs
from sparkify_dagster.core import progress
from sparkify_dagster.core.progress import Ticker
from sparkify_dagster.resources import SourcesResource, WarehouseResource
from sparkify_dagster.run_log import PYTHON_LOGS
from sparkify_dagster_tests.helpers import BUCKET, REPO, event, resources, s3_bucket, song

# A progress line while a source is read: files done of all, records and rejects, bytes, rate.
TICK = re.compile(
    r"^staging (songs|events): [\d,]+/[\d,]+ files, [\d,]+ records \([\d,]+ rejected\), "
    r"[\d.]+ (bytes|kB|MB) at [\d.]+ (bytes|kB|MB)/s, [\d,]+ s$"
)


def step_lines(entries: list[EventLogEntry], step: str) -> list[EventLogEntry]:
    """The log lines (not Dagster's events) of ``step`` between its start and its
    materialization, which both must be there."""
    kinds = [entry.dagster_event_type if entry.step_key == step else None for entry in entries]
    begin = kinds.index(DagsterEventType.STEP_START)
    end = kinds.index(DagsterEventType.ASSET_MATERIALIZATION)
    return [
        entry
        for entry in entries[begin:end]
        if entry.step_key == step and entry.dagster_event_type is None
    ]


@pytest.fixture
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    sparkify_dagster.generate(folder, songs=120, events=1_500, days=3, seed=3)
    return folder


def test_staging_says_files_records_bytes_and_rate_between_its_start_and_its_output(
    generated: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "INTERVAL", 0.0)  # a line at every file or batch read
    instance = DagsterInstance.ephemeral()

    result = materialize(
        [staging_songs, staging_events], resources=resources(target, generated), instance=instance
    )

    assert result.success
    entries = list(instance.all_logs(result.run_id))
    for kind, files in (("songs", 120), ("events", 3)):
        lines = step_lines(entries, f"staging_{kind}")
        said = [entry.user_message for entry in lines]
        assert said[0] == f"staging {kind}: starting, {files:,} files"
        assert any(TICK.match(line) for line in said[1:-1]), said
        assert re.match(
            rf"staging {kind}: done, {files:,} files, [\d,]+ records \(0 rejected\), "
            r"[\d.]+ (kB|MB) at [\d.]+ (kB|MB)/s, \d+ s$",
            said[-1],
        ), said
        assert {entry.level for entry in lines} == {20}  # INFO: `./dev materialize` shows ERROR


def test_a_short_step_says_only_where_it_starts_and_ends(generated: Path, tmp_path: Path) -> None:
    instance = DagsterInstance.ephemeral()
    target = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"

    result = materialize([staging_songs], resources=resources(target, generated), instance=instance)

    said = [
        entry.user_message
        for entry in step_lines(list(instance.all_logs(result.run_id)), "staging_songs")
    ]
    assert len(said) == 2, said
    assert said[0] == "staging songs: starting, 120 files"
    assert said[1].startswith("staging songs: done, 120 files, 120 records (0 rejected)")


def test_a_failed_step_says_where_it_stopped(dataset: Path, tmp_path: Path) -> None:
    (dataset / "song_data" / "bad.json").write_text("{not json")
    instance = DagsterInstance.ephemeral()
    target = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"

    result = materialize(
        [staging_songs], resources=resources(target, dataset), instance=instance,
        raise_on_error=False,
    )  # fmt: skip

    assert not result.success
    said = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert "staging songs: starting, 1 file" in said
    assert any(line.startswith("staging songs: stopped, 1 file") for line in said), said


def test_the_instances_carry_the_library_s_log_into_the_run_s_event_log() -> None:
    for path in ("dagster.yaml", "docs/deploy/dagster.yaml"):
        assert yaml.safe_load((REPO / path).read_text())["python_logs"] == PYTHON_LOGS, path


def test_a_library_warning_reaches_the_run_s_event_log(
    aws_environment: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s3 = s3_bucket()
    prefix = f"progress-{tmp_path.name}"
    s3.put_object(
        Bucket=BUCKET,
        Key=f"{prefix}/song_data/A/TRAAA.json",
        Body=json.dumps(SONG),
        ACL="public-read",
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)  # no credentials anywhere: the source reads unsigned
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    instance = DagsterInstance.ephemeral(settings={"python_logs": PYTHON_LOGS})
    sources = SourcesResource(
        song_data=f"s3://{BUCKET}/{prefix}/song_data", log_data=f"s3://{BUCKET}/{prefix}/log_data"
    )
    warehouse = WarehouseResource(target=f"duckdb:///{tmp_path / 'warehouse.duckdb'}")

    result = materialize(
        [staging_songs], resources={"warehouse": warehouse, "sources": sources}, instance=instance
    )

    assert result.success
    lines = step_lines(list(instance.all_logs(result.run_id)), "staging_songs")
    warned = [entry for entry in lines if "no AWS credentials are configured" in entry.user_message]
    assert [entry.level for entry in warned] == [30]  # once, as a WARNING
    assert f"reading s3://{BUCKET}/{prefix}/song_data with unsigned requests" in (
        warned[0].user_message
    )


SONG: dict[str, Any] = song("SOAAA", "A", "ARA", "Art", 1.5)


def test_a_ticker_says_a_line_at_most_every_interval() -> None:
    now = [0.0]
    said: list[str] = []
    ticker = Ticker(said.append, interval=5, clock=lambda: now[0])

    ticker.start("staging events", 3)
    for moment in (1.0, 4.0, 6.0):
        now[0] = moment
        ticker.advance(files=1, records=1_000, rejected=1, nbytes=2_000_000)
    ticker.finish()
    ticker.finish()  # nothing under way: nothing to say

    assert said == [
        "staging events: starting, 3 files",
        "staging events: 3/3 files, 3,000 records (3 rejected), 6.0 MB at 1.0 MB/s, 6 s",
        "staging events: done, 3 files, 3,000 records (3 rejected), 6.0 MB at 1.0 MB/s, 6 s",
    ]


def test_etl_says_its_progress_on_stderr_unless_quiet(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (dataset / "song_data" / "TRAAA.json").write_text(json.dumps(SONG))
    day = dataset / "log_data" / "2018-11-01-events.json"
    day.write_text(json.dumps(event(1541105830796, song="A", artist="Art", length=1.5)))
    options = {"song_data": str(dataset / "song_data"), "log_data": str(dataset / "log_data")}

    sparkify_dagster.etl(**options, target=f"duckdb:///{tmp_path / 'quiet.duckdb'}")
    assert capsys.readouterr().err == ""
    sparkify_dagster.etl(**options, target=f"duckdb:///{tmp_path / 'said.duckdb'}", quiet=False)

    said = capsys.readouterr().err.splitlines()
    expected = [
        "staging songs: starting, 1 file",
        r"staging songs: done, 1 file, 1 record \(0 rejected\), \d+ bytes at [\d.]+ kB/s, 0 s",
        "staging events: starting, 1 file",
        r"staging events: done, 1 file, 1 record \(0 rejected\), \d+ bytes at [\d.]+ kB/s, 0 s",
        "building star: starting, 5 tables",
        r"building star: done, 5 tables, \d+ s",
    ]
    assert len(said) == len(expected), said
    for line, pattern in zip(said, expected, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
