"""The sensors tick by tick: ``build_sensor_context`` and ``evaluate_tick`` against real boto3 on
the loopback moto server, and the same on local folders."""

from __future__ import annotations

import base64
import functools
import json
import os
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff
from dagster import DagsterInstance, SensorDefinition, build_sensor_context
from dagster._core.definitions.sensor_definition import SensorExecutionData
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

import sparkify_dagster
from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster.core.settings import (
    SENSOR_FULL_LISTING_MINUTES,
    SENSOR_INTERVAL,
    SENSOR_MAX_KEYS,
)
from sparkify_dagster.ingest.days import day_of
from sparkify_dagster.ingest.sources import open_source
from sparkify_dagster.ingest.watch import Cursor, Look, look_for_events, look_for_songs
from sparkify_dagster.resources import SourcesResource
from sparkify_dagster.sensors import new_logs, new_songs, tick
from sparkify_dagster_tests.faults import FaultyProxy
from sparkify_dagster_tests.helpers import BUCKET, Store, s3_bucket, song


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """28 days of generated logs (2018-11-01 … 28) and 30 songs."""
    folder = tmp_path_factory.mktemp("month")
    sparkify_dagster.generate(folder, songs=30, events=600, days=28, seed=5)
    return folder


@functools.cache
def instance() -> DagsterInstance:
    """One ephemeral instance for every tick, as the daemon keeps one."""
    return DagsterInstance.ephemeral()


def evaluate(
    sensor: SensorDefinition, store: Store, cursor: str | None = None
) -> SensorExecutionData:
    context = build_sensor_context(
        instance=instance(), cursor=cursor, resources={"sources": store.sources()}
    )
    return sensor.evaluate_tick(context)


def day(number: int) -> str:
    return f"log_data/2018/11/2018-11-{number:02d}-events.json"


def requested(data: SensorExecutionData) -> int:
    """How many files the tick's one run request covers."""
    assert data.run_requests is not None
    (request,) = data.run_requests
    assert request.run_key
    assert request.asset_selection is None  # the sensor's target: its staging asset
    return int(request.tags["sparkify/new_files"])


def found(location: str, cursor: str | None, **options: Any) -> list[str]:
    return [file.key for file in look_for_events(location, cursor, **options).found]


def aged(cursor: str | None, location: str, minutes: float = 11) -> str:
    """``cursor`` as if its last full listing had begun ``minutes`` earlier (the window is 10)."""
    state = Cursor.load(cursor, location)
    assert state.swept is not None
    state.swept -= minutes * 60
    return state.dump()


def newest(store: Store, after: int) -> str:
    """The skip message of a tick that listed the newest logs, from the day after ``after``."""
    requests = " (1 list request)" if store.kind == "s3" else ""
    return (
        f"nothing new or changed in {store.location('log_data')}: listed 7 files after "
        f"2018/11/2018-11-{after:02d}-events.json{requests}"
    )


# -- event logs ---------------------------------------------------------------------------------


def days(data: SensorExecutionData) -> tuple[str, str]:
    """The first and last day (partition) the tick's run asks for."""
    assert data.run_requests is not None
    (request,) = data.run_requests
    return (
        request.tags[ASSET_PARTITION_RANGE_START_TAG],
        request.tags[ASSET_PARTITION_RANGE_END_TAG],
    )


def test_the_first_tick_asks_for_one_run_covering_28_days(store: Store, month: Path) -> None:
    store.upload(month / "log_data", "log_data")

    first = evaluate(new_logs, store)

    assert requested(first) == 28
    assert days(first) == ("2018-11-01", "2018-11-28")  # every day, as one run
    assert first.cursor is not None and len(first.cursor) < 1_000

    again = evaluate(new_logs, store, first.cursor)
    assert not again.run_requests
    assert again.cursor == first.cursor  # unchanged
    assert again.skip_message == newest(store, after=21)  # the newest 7 and what follows
    # a repeated tick (a retried evaluation, a restarted daemon) asks for the same run
    repeated = evaluate(new_logs, store)
    assert repeated.run_requests is not None and first.run_requests is not None
    assert repeated.run_requests[0].run_key == first.run_requests[0].run_key


def test_a_late_day_of_any_age_is_found_and_asked_for_alone(store: Store, month: Path) -> None:
    """A missing day uploaded three weeks late, after later days: the next full listing (at most
    SPARKIFY_SENSOR_FULL_LISTING_MINUTES later) finds it, and its day alone is asked for."""
    store.upload(month / "log_data", "log_data", skip=("2018-11-05-events.json",))
    location = store.location("log_data")
    cursor = evaluate(new_logs, store).cursor
    assert cursor is not None

    store.put(day(5), (month / day(5)).read_bytes())

    within = evaluate(new_logs, store, cursor)  # the newest logs only: not yet
    assert not within.run_requests and within.cursor == cursor
    assert found(location, cursor, full_listing_minutes=0) == ["2018/11/2018-11-05-events.json"]

    tick_data = evaluate(new_logs, store, aged(cursor, location))  # a full listing is due
    assert requested(tick_data) == 1
    assert days(tick_data) == ("2018-11-05", "2018-11-05")
    assert Cursor.load(tick_data.cursor, location).swept == pytest.approx(time.time(), abs=60)
    assert evaluate(new_logs, store, tick_data.cursor).run_requests == []
    assert evaluate(new_logs, store, aged(tick_data.cursor, location)).run_requests == []


def test_a_rewritten_day_and_a_new_day_are_asked_for_in_one_run(store: Store, month: Path) -> None:
    """A new day and a rewritten recent day are found by the next tick; an older day rewritten
    in place by the next full listing."""
    store.upload(month / "log_data", "log_data", skip=("2018-11-28-events.json",))
    location = store.location("log_data")
    cursor = evaluate(new_logs, store).cursor

    store.put(day(3), (month / day(3)).read_text() + "\n")
    store.put(day(27), (month / day(27)).read_text() + "\n")  # still being written
    store.put(day(28), (month / day(28)).read_bytes())

    assert found(location, cursor) == [
        "2018/11/2018-11-27-events.json",
        "2018/11/2018-11-28-events.json",
    ]
    tick_data = evaluate(new_logs, store, cursor)
    assert requested(tick_data) == 2 and days(tick_data) == ("2018-11-27", "2018-11-28")

    full = evaluate(new_logs, store, aged(tick_data.cursor, location))
    assert requested(full) == 1 and days(full) == ("2018-11-03", "2018-11-03")
    assert found(location, aged(cursor, location)) == [
        "2018/11/2018-11-03-events.json",
        "2018/11/2018-11-27-events.json",
        "2018/11/2018-11-28-events.json",
    ]


@pytest.mark.usefixtures("aws_environment")
def test_an_object_written_again_with_the_same_bytes_is_not_new(month: Path) -> None:
    s3 = s3_bucket()
    store = Store("s3", f"s3://{BUCKET}/{uuid.uuid4().hex[:12]}", s3)
    store.upload(month / "log_data", "log_data")
    cursor = evaluate(new_logs, store).cursor

    store.put(day(27), (month / day(27)).read_bytes())  # same ETag

    assert found(store.location("log_data"), cursor) == []


def test_a_deleted_file_asks_for_nothing_and_the_cursor_keeps_working(
    store: Store, month: Path
) -> None:
    store.upload(month / "log_data", "log_data")
    cursor = evaluate(new_logs, store).cursor

    store.delete(day(26))
    gone = evaluate(new_logs, store, cursor)
    assert not gone.run_requests and gone.cursor == cursor

    store.put("log_data/2018/12/2018-12-01-events.json", (month / day(1)).read_bytes())
    later = evaluate(new_logs, store, cursor)
    assert requested(later) == 1 and days(later) == ("2018-12-01", "2018-12-01")
    assert later.cursor is not None
    seen = Cursor.load(later.cursor, store.location("log_data")).seen
    assert "2018/11/2018-11-26-events.json" not in seen


def test_ten_years_of_daily_logs_keep_the_cursor_small(tmp_path: Path) -> None:
    """A tick lists the newest logs; a full listing goes a page of 1,000 keys a tick. The cursor
    stays compact. (``benchmarks/sensors.py`` times it on moto.)"""
    store = Store("local", str(tmp_path / "raw"), None)
    first = 1_230_768_000  # 2009-01-01
    for number in range(3_653):
        stamp = time.gmtime(first + number * 86_400)
        name = time.strftime("%Y/%m/%Y-%m-%d", stamp)
        store.put(f"log_data/{name}-events.json", "{}")
    location = store.location("log_data")

    look = look_for_events(location)
    assert len(look.found) == 3_653 and look.cursor is not None
    assert len(look.cursor) < 50_000  # four bytes of digest a log, compressed keys

    again = look_for_events(location, look.cursor)
    assert again.found == [] and again.listed == 7 and again.cursor == look.cursor
    cursor, listed = aged(look.cursor, location), []
    for _ in range(4):
        step = look_for_events(location, cursor)
        assert step.found == [] and step.cursor != cursor
        cursor, listed = step.cursor, [*listed, step.listed]
    assert listed == [1_007, 1_007, 1_007, 653]  # a page and the newest; the last page
    assert Cursor.load(cursor, location).resume == ""  # the full listing is complete


def test_a_tick_with_nothing_new_is_one_list_request_and_a_full_listing_a_page_a_tick(
    proxy: FaultyProxy, month: Path
) -> None:
    """Counted at the server: a tick lists the newest logs in one request (an empty page after
    them when nothing is new); while a full listing is under way a tick adds one page of it, so
    no tick makes more than two requests whatever the history (pages of 10 keys here, 1,000 on
    S3)."""
    store = Store("s3", f"s3://{BUCKET}/{uuid.uuid4().hex[:12]}", s3_bucket())
    store.upload(month / "log_data", "log_data")
    location = store.location("log_data")

    def requests(cursor: str | None) -> tuple[int, Look]:
        before = proxy.requests
        look = look_for_events(location, cursor, page=10)
        return proxy.requests - before, look

    first = requests(None)
    assert first[0] == 1 and len(first[1].found) == 28  # 28 keys: one request lists them all
    calm = requests(first[1].cursor)
    assert calm[0] == 1 and calm[1].found == [] and calm[1].cursor == first[1].cursor
    assert calm[1].scope.endswith("(1 list request)")

    store.put(day(2), (month / day(2)).read_text() + "\n")  # rewritten in place, long after
    cursor, counts, seen = aged(calm[1].cursor, location), [], []
    for _ in range(3):
        count, look = requests(cursor)
        counts.append(count)
        seen += [file.key for file in look.found]
        cursor = look.cursor
    assert counts == [2, 2, 1]  # pages 1-10 and 11-20 with the newest; 21-28, the last page
    assert seen == ["2018/11/2018-11-02-events.json"]
    assert requests(cursor)[0] == 1  # the full listing is complete: the newest logs only


def test_a_cursor_written_before_full_listings_were_timed_is_read(
    store: Store, month: Path
) -> None:
    """A cursor of the previous release (the same layout without ``swept``) keeps what it saw:
    its logs are not asked for again, and its first tick makes a full listing."""
    store.upload(month / "log_data", "log_data", skip=("2018-11-05-events.json",))
    location = store.location("log_data")
    current = Cursor.load(evaluate(new_logs, store).cursor, location)
    old = Cursor(location, seen=current.seen).dump()  # what the previous release kept
    assert '"swept"' not in zlib.decompress(base64.b64decode(old[2:])).decode()
    assert Cursor.load(old, location).seen == current.seen

    calm = evaluate(new_logs, store, old)
    assert not calm.run_requests and Cursor.load(calm.cursor, location).swept is not None
    store.put(day(5), (month / day(5)).read_bytes())
    late = evaluate(new_logs, store, old)  # the late day, found by that first full listing
    assert requested(late) == 1 and days(late) == ("2018-11-05", "2018-11-05")


def test_a_log_without_a_day_is_found_and_named_but_asks_for_no_day(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    store.put("log_data/2018/11/2018-11-01-events.json", "{}")
    store.put("log_data/extra/misc.json", "{}")
    location = store.location("log_data")
    cursor = evaluate(new_logs, store).cursor

    store.put("log_data/extra/misc.json", "{ }")

    assert found(location, cursor) == ["extra/misc.json"]
    tick_data = evaluate(new_logs, store, cursor)
    assert not tick_data.run_requests
    assert "none of their days is a partition" in str(tick_data.skip_message)
    assert day_of("log_data/2018/11/2018-11-30-events.json") == day_of("2018-11-30.json")
    assert day_of("log_data/2018/13/2018-13-45-events.json") is None


def test_a_location_without_logs_yet_skips_and_says_what_it_listed(store: Store) -> None:
    if store.kind == "local":
        Path(store.location("log_data")).mkdir(parents=True)
    data = evaluate(new_logs, store)
    assert not data.run_requests and data.cursor is None
    # on S3 the prefix, then the object it would name if it were a file
    requests = " (2 list requests)" if store.kind == "s3" else ""
    assert data.skip_message == (
        f"nothing new or changed in {store.location('log_data')}: listed 0 files from the start"
        + requests
    )


def test_listing_after_a_key_keeps_the_files_a_load_reads_in_key_order(store: Store) -> None:
    for key in (
        "log_data/2018/11/2018-11-02-events.json",
        "log_data/2018/11/2018-11-01-events.json.gz",
        "log_data/2018/12/2018-12-01-events.json",
        "log_data/2018/.ipynb_checkpoints/2018-11-03-events.json",
        "log_data/2018/11/.2018-11-04-events.json",
        "log_data/2018/11/notes.txt",
        "log_data_old/2018/11/2018-11-05-events.json",
    ):
        store.put(key, "{}")
    source = open_source(store.location("log_data"))
    loaded = [file.uri for file in source.files()]

    listing = source.list_after()
    assert [file.uri for file in listing.files] == loaded and listing.resume_after is None
    assert [file.key for file in source.list_after("2018/11/2018-11-02-events.json").files] == [
        "2018/12/2018-12-01-events.json"
    ]
    assert [file.key for file in source.list_after("2018/11").files] == [
        "2018/11/2018-11-01-events.json.gz",
        "2018/11/2018-11-02-events.json",
        "2018/12/2018-12-01-events.json",
    ]
    paged = source.list_after(max_keys=1)
    assert len(paged.files) <= 1 and paged.resume_after
    assert source.list_after("2019").files == []


# -- song files ---------------------------------------------------------------------------------


def test_new_and_rewritten_song_files_are_found(store: Store, month: Path) -> None:
    store.upload(month / "song_data", "song_data")
    first = evaluate(new_songs, store)
    assert requested(first) == 30
    assert evaluate(new_songs, store, first.cursor).run_requests == []

    record = song("SOAAAA", "First", "ARA", "Art", 1.0)
    store.put("song_data/0/0/0/TR0000.json", json.dumps(record))  # sorts before every other key
    existing = next((month / "song_data").rglob("*.json"))
    key = f"song_data/{existing.relative_to(month / 'song_data').as_posix()}"
    store.put(key, existing.read_text() + " ")

    second = evaluate(new_songs, store, first.cursor)
    assert requested(second) == 2
    assert evaluate(new_songs, store, second.cursor).run_requests == []


def test_songs_are_listed_in_bounded_pages_across_ticks(store: Store, month: Path) -> None:
    store.upload(month / "song_data", "song_data")
    location = store.location("song_data")

    looks = [look_for_songs(location, max_keys=12)]
    while Cursor.load(looks[-1].cursor, location).resume:
        looks.append(look_for_songs(location, looks[-1].cursor, max_keys=12))
    assert [len(look.found) for look in looks] == [12, 12, 6]
    keys = [file.key for look in looks for file in look.found]
    assert keys == sorted(keys) and len(set(keys)) == 30

    calm = look_for_songs(location, looks[-1].cursor, max_keys=12)
    assert calm.found == [] and calm.cursor is not None  # the next pass moves on
    store.put("song_data/A/A/A/TRAAA0.json", json.dumps(song("SOX", "X", "ARX", "X", 2.0)))
    later = [calm]
    while not any(look.found for look in later[1:]):
        later.append(look_for_songs(location, later[-1].cursor, max_keys=12))
        assert len(later) < 6
    assert [file.key for file in later[-1].found] == ["A/A/A/TRAAA0.json"]


def test_a_tick_that_only_moves_a_pass_along_skips_and_keeps_its_cursor(
    store: Store, month: Path
) -> None:
    store.upload(month / "song_data", "song_data")
    location = store.location("song_data")
    first = look_for_songs(location, max_keys=12)
    context = build_sensor_context(instance=instance(), cursor=first.cursor)

    result = tick(
        context, "new_songs", location, "SPARKIFY_SONG_DATA",
        lambda: look_for_songs(location, context.cursor, max_keys=100, margin=0),
    )  # fmt: skip

    assert result.run_requests is not None and len(result.run_requests) == 1
    calm = tick(
        context, "new_songs", location, "SPARKIFY_SONG_DATA",
        lambda: look_for_songs(location, result.cursor, max_keys=12),
    )  # fmt: skip
    assert not calm.run_requests and calm.cursor is not None
    assert calm.skip_reason is not None and calm.skip_reason.skip_message is not None
    assert calm.skip_reason.skip_message.startswith(f"nothing new or changed in {location}")


def test_the_song_cursor_keeps_only_recently_written_files(store: Store, month: Path) -> None:
    store.upload(month / "song_data", "song_data")
    time.sleep(2.1)  # S3's clock has whole seconds
    look = look_for_songs(store.location("song_data"), margin=0)
    assert len(look.found) == 30
    assert look.cursor is not None and Cursor.load(look.cursor, look.location).seen == {}
    assert look_for_songs(store.location("song_data"), look.cursor).found == []


def test_a_cursor_for_another_location_starts_over(store: Store, month: Path) -> None:
    store.upload(month / "log_data", "log_data")
    cursor = look_for_events(store.location("log_data")).cursor
    assert Cursor.load(cursor, "s3://elsewhere/log_data") == Cursor("s3://elsewhere/log_data")
    assert Cursor.load("not json", "x") == Cursor("x")
    assert Cursor.load(cursor, store.location("log_data")).dump() == cursor


# -- errors -------------------------------------------------------------------------------------


def error_of(sensor: SensorDefinition, sources: SourcesResource) -> str:
    """The message a failed tick shows, down to the cause."""
    context = build_sensor_context(
        instance=instance(), cursor="unchanged", resources={"sources": sources}
    )
    with pytest.raises(Exception) as caught:
        sensor.evaluate_tick(context)
    assert context.cursor == "unchanged"
    messages = []
    error: BaseException | None = caught.value
    while error is not None:
        messages.append(str(error))
        error = error.__cause__
    return "\n".join(messages)


def test_a_missing_bucket_fails_the_tick_naming_location_and_fix(aws_environment: str) -> None:
    sources = SourcesResource(
        song_data="s3://no-such-bucket/songs", log_data="s3://no-such-bucket/l"
    )
    message = error_of(new_logs, sources)
    assert "new_logs could not list s3://no-such-bucket/l (SPARKIFY_LOG_DATA)" in message
    assert "bucket no-such-bucket does not exist" in message and "check the name" in message


def test_a_missing_folder_fails_the_tick(tmp_path: Path) -> None:
    sources = SourcesResource(song_data=str(tmp_path / "s"), log_data=str(tmp_path / "nowhere"))
    message = error_of(new_songs, sources)
    assert f"new_songs could not list {tmp_path / 's'} (SPARKIFY_SONG_DATA)" in message
    assert "does not exist" in message


def test_access_denied_fails_the_tick_naming_the_credentials(
    aws_environment: str, without_permissions: Callable[[], dict[str, str]]
) -> None:
    s3_bucket()
    key = without_permissions()
    message = error_of(new_logs, SourcesResource(song_data="x", log_data=f"s3://{BUCKET}/l"))
    assert f"access to s3://{BUCKET}/l was denied" in message
    assert "environment variables" in message and "s3:ListBucket" in message
    assert key["SecretAccessKey"] not in message


@pytest.fixture
def proxy(aws_environment: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyProxy]:
    """A faulty proxy in front of moto; retries back off for milliseconds, not seconds."""
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.01)
    with FaultyProxy(aws_environment) as faulty:
        monkeypatch.setenv("AWS_ENDPOINT_URL", faulty.url)
        yield faulty


def test_throttling_is_retried_and_then_named(proxy: FaultyProxy, month: Path) -> None:
    store = Store("s3", f"s3://{BUCKET}/{uuid.uuid4().hex[:12]}", s3_bucket())
    store.upload(month / "log_data", "log_data")
    throttled = proxy.fail("GET", r"list-type=2", "503", times=3)

    assert requested(evaluate(new_logs, store)) == 28
    assert throttled.hits == 3

    proxy.fail("GET", r"list-type=2", "503")
    message = error_of(new_logs, store.sources())
    assert f"new_logs could not list {store.location('log_data')}" in message
    assert "failed after 5 attempts: SlowDown" in message and "retry later" in message


# -- settings and definitions -------------------------------------------------------------------


def test_settings_come_from_the_environment() -> None:
    sources = SourcesResource()
    assert sources.sensor_max_keys == 20_000
    assert sources.sensor_full_listing_minutes == 10
    assert SourcesResource(full_listing_minutes="0").sensor_full_listing_minutes == 0
    assert SENSOR_INTERVAL.lookup(env={}) == 60
    assert SENSOR_INTERVAL.lookup(env={"SPARKIFY_SENSOR_INTERVAL": " 2 "}) == 2
    assert SourcesResource(max_keys="3").sensor_max_keys == 3
    for setting, value in (
        (SENSOR_INTERVAL, "0"),
        (SENSOR_INTERVAL, "soon"),
        (SENSOR_MAX_KEYS, "-5"),
        (SENSOR_FULL_LISTING_MINUTES, "-1"),
    ):
        name = setting.variable
        with pytest.raises(ConfigError, match=f"\\${name} is '{value}': give a whole number"):
            setting.lookup(env={name: value})
    with pytest.raises(ConfigError, match="SPARKIFY_SENSOR_MAX_KEYS is '0'"):
        _ = SourcesResource(max_keys="0").sensor_max_keys


def test_the_code_location_has_its_sensors_stopped_with_the_interval_from_the_environment(
    tmp_path: Path,
) -> None:
    code = (
        "import sparkify_dagster, json; r = sparkify_dagster.defs.get_repository_def(); "
        "print(json.dumps({s.name: [s.minimum_interval_seconds, s.default_status.value, "
        "sorted(k.to_user_string() for k in r.get_job(s.job_name).asset_layer"
        ".executable_asset_keys) if s.has_jobs else None, sorted({c.asset_key.to_user_string() "
        "for c in r.get_job(s.job_name).asset_layer.asset_graph.asset_check_keys}) "
        "if s.has_jobs else None,"
        " bool(s.description)] for s in r.sensor_defs if s.name != 'run_failure_alert'}))"
    )
    env = {**os.environ, "SPARKIFY_SENSOR_INTERVAL": "7"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    # The sensors load staging with its checks (the blocking ones hold the star back); the
    # automation sensor builds the rest, as often as the sensors tick (at most every 30 s).
    assert json.loads(done.stdout) == {
        "new_logs": [7, "STOPPED", ["staging_events"], ["staging_events"], True],
        "new_songs": [7, "STOPPED", ["staging_songs"], ["staging_songs"], True],
        "default_automation_condition_sensor": [7, "STOPPED", None, None, True],
    }  # fmt: skip


def test_the_built_in_sample_is_watched_when_no_location_is_set() -> None:
    context = build_sensor_context(instance=instance(), resources={"sources": SourcesResource()})
    data = new_logs.evaluate_tick(context)
    assert requested(data) == 30
