"""s3:// sources, read by real boto3 from the loopback moto server (and a faulty proxy in front)."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.retries.standard import ExponentialBackoff
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sparkify_dagster
from sparkify_dagster.core.errors import ConfigError, SourceError
from sparkify_dagster.core.progress import Ticker
from sparkify_dagster.core.settings import Settings
from sparkify_dagster.ingest.files import decompress
from sparkify_dagster.ingest.s3 import S3Source
from sparkify_dagster.ingest.sources import LocalSource, open_source
from sparkify_dagster.warehouse.staging import stage_sources
from sparkify_dagster_tests.faults import FaultyProxy
from sparkify_dagster_tests.helpers import Reading, event, of_data, song

BUCKET = "sparkify-raw"


@pytest.fixture
def aws(aws_environment: str) -> str:
    """conftest's ``aws`` without its server reset, which is slow: these tests keep to
    their own bucket, emptied by ``s3``, and to IAM users of their own names."""
    return aws_environment


@pytest.fixture
def s3(aws: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty bucket on the moto server; retries back off for milliseconds, not seconds."""
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.01)
    monkeypatch.setitem(
        ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "non_throttling_base_scale", 0.01
    )
    client = boto3.client("s3")
    try:
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
    except client.exceptions.BucketAlreadyOwnedByYou:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
            if keys:
                client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys, "Quiet": True})
    return client


@pytest.fixture
def proxy(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyProxy]:
    """A faulty proxy in front of moto; boto3 reaches S3 only through it."""
    with FaultyProxy(aws) as faulty:
        monkeypatch.setenv("AWS_ENDPOINT_URL", faulty.url)
        yield faulty


def upload(s3: Any, folder: Path, prefix: str, *, gzip_every: int = 0) -> int:
    """Every file under ``folder`` as ``prefix/<relative path>``; every n-th one gzipped."""
    paths = sorted(path for path in folder.rglob("*") if path.is_file())

    def put(numbered: tuple[int, Path]) -> None:
        number, path = numbered
        key, body = f"{prefix}/{path.relative_to(folder).as_posix()}", path.read_bytes()
        if gzip_every and number % gzip_every == 0:
            key, body = key + ".gz", gzip.compress(body)
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, enumerate(paths)))
    return len(paths)


def put(s3: Any, key: str, body: bytes | str, **extra: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, **extra)


def put_small_dataset(s3: Any, prefix: str = "raw", **extra: Any) -> None:
    songs = [song("SOAAA", "A", "ARA", "Art", 1.5), song("SOAAB", "B", "ARA", "Art", 2.5)]
    put(s3, f"{prefix}/song_data/A/A/TRAAA.json", json.dumps(songs[0]), **extra)
    put(s3, f"{prefix}/song_data/A/B/TRAAB.json", json.dumps(songs[1]), **extra)
    events = [event(1541105830796 + n, song="A", artist="Art", length=1.5) for n in range(3)]
    day = f"{prefix}/log_data/2018/11/2018-11-01-events.json"
    put(s3, day, "\n".join(map(json.dumps, events)), **extra)


def s3_run(target: str, prefix: str = "raw", **settings: Any) -> sparkify_dagster.RunResult:
    return sparkify_dagster.etl(
        Settings(
            song_data=f"s3://{BUCKET}/{prefix}/song_data",
            log_data=f"s3://{BUCKET}/{prefix}/log_data",
            target=target,
            **settings,
        )
    )


def test_s3_run_gives_the_same_warehouse_as_the_same_files_in_a_folder(
    s3: Any, tmp_path: Path
) -> None:
    data = sparkify_dagster.generate(tmp_path / "data", songs=120, events=600, days=5, seed=11)
    upload(s3, data.song_data, "landing/2018/song_data", gzip_every=7)
    upload(s3, data.log_data, "landing/2018/log_data", gzip_every=2)
    # the same gzipped files locally, so both runs read identical bytes
    local = tmp_path / "local"
    for kind in ("song_data", "log_data"):
        for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"landing/2018/{kind}/")["Contents"]:
            path = local / item["Key"].removeprefix("landing/2018/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())

    local_run = sparkify_dagster.etl(
        song_data=str(local / "song_data"),
        log_data=str(local / "log_data"),
        target=f"duckdb:///{tmp_path / 'local.duckdb'}",
    )
    s3_target = f"duckdb:///{tmp_path / 's3.duckdb'}"
    s3_result = s3_run(s3_target, "landing/2018")

    assert of_data(s3_result.counts) == of_data(local_run.counts)
    assert s3_result.counts["staging_songs"] == 120
    assert s3_result.counts["staging_events"] == 600
    assert of_data(sparkify_dagster.analyze(s3_target)) == of_data(
        sparkify_dagster.analyze(f"duckdb:///{tmp_path / 'local.duckdb'}")
    )
    with sparkify_dagster.connect(s3_target) as warehouse:
        (uri,) = warehouse.query("SELECT min(source_file) FROM staging_songs")[0]
    assert uri.startswith(f"s3://{BUCKET}/landing/2018/song_data/A/")


def test_listing_skips_hidden_keys_other_files_and_sibling_prefixes(s3: Any) -> None:
    body = json.dumps(song("SOAAA", "A", "ARA", "Art", 1.5))
    for key in (
        "song_data/B/TRB.json",
        "song_data/A/TRA.json.gz",
        "song_data/.ipynb_checkpoints/TRA-checkpoint.json",
        "song_data/A/.hidden.json",
        "song_data/notes.txt",
        "song_data/empty-folder/",
        "song_data_old/TRX.json",
    ):
        put(s3, key, gzip.compress(body.encode()) if key.endswith(".gz") else body)

    source = open_source(f"s3://{BUCKET}/song_data")
    files = source.files()

    assert [file.uri for file in files] == [
        f"s3://{BUCKET}/song_data/A/TRA.json.gz",
        f"s3://{BUCKET}/song_data/B/TRB.json",
    ]
    etag = s3.head_object(Bucket=BUCKET, Key="song_data/B/TRB.json")["ETag"].strip('"')
    assert files[1].version == etag
    assert files[1].size == len(body)
    assert [decompress(f, data) for f, data in source.contents(files)] == [body.encode()] * 2
    # a trailing slash, the bucket root and a single object work too
    assert open_source(f"s3://{BUCKET}/song_data/").files() == files
    assert len(open_source(f"s3://{BUCKET}").files()) == 3
    single = open_source(f"s3://{BUCKET}/song_data/B/TRB.json").files()
    assert [file.uri for file in single] == [files[1].uri]


def test_contents_come_in_the_given_order_with_a_bounded_look_ahead(
    s3: Any, proxy: FaultyProxy
) -> None:
    keys = [f"logs/{n:03}.json" for n in range(30)]
    for key in keys:
        put(s3, key, key)
    source = S3Source(f"s3://{BUCKET}/logs", workers=8, window=3)
    files = source.files()
    shuffled = files[::2] + files[1::2]

    assert [data.decode() for _, data in source.contents(shuffled)] == [
        file.uri.removeprefix(f"s3://{BUCKET}/") for file in shuffled
    ]
    assert 1 <= proxy.most_in_flight <= 3
    assert source.stats is not None and source.stats.objects == 30


def test_missing_bucket_names_it(aws: str, target: str) -> None:
    with pytest.raises(SourceError, match="bucket no-such-bucket does not exist"):
        open_source("s3://no-such-bucket/song_data").files()


def test_empty_prefix_is_an_error_not_an_empty_load(s3: Any, target: str) -> None:
    put(s3, "raw/song_data/readme.txt", "no songs here")
    put_small_dataset(s3, "other")
    with pytest.raises(
        SourceError,
        match=r"raw/song_data holds no \*\.json or \*\.json\.gz objects, only 1 other object;",
    ):
        s3_run(target, "raw")
    with pytest.raises(SourceError, match="nothing/song_data holds no"):
        s3_run(target, "nothing")


def test_a_key_deleted_after_listing_is_named(s3: Any) -> None:
    put_small_dataset(s3)
    source = open_source(f"s3://{BUCKET}/raw/song_data")
    files = source.files()
    s3.delete_object(Bucket=BUCKET, Key="raw/song_data/A/B/TRAAB.json")
    with pytest.raises(SourceError, match=r"raw/song_data/A/B/TRAAB\.json was listed but is gone"):
        list(source.contents(files))


def test_a_key_rewritten_after_listing_is_named(s3: Any) -> None:
    put_small_dataset(s3)
    source = open_source(f"s3://{BUCKET}/raw/song_data")
    files = source.files()
    put(s3, "raw/song_data/A/A/TRAAA.json", json.dumps(song("SOZZZ", "Z", "ARZ", "Z", 9.0)))
    with pytest.raises(SourceError, match=r"TRAAA\.json changed while sparkify was reading"):
        list(source.contents(files))


def test_an_object_whose_etag_is_known_is_not_read(s3: Any, tmp_path: Path) -> None:
    """On S3 the listing is the stamp: an object put again with the same bytes (a new
    LastModified, the same ETag) is not read; one with other bytes is, and replaces its rows."""
    put_small_dataset(s3)
    target = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    s3_run(target)
    put_small_dataset(s3)
    key = "raw/song_data/A/B/TRAAB.json"
    put(s3, key, json.dumps(song("SOAAB", "B", "ARA", "Art", 7.5)))

    def stage() -> tuple[list[int], list[str]]:
        sources = {
            kind: Reading(S3Source(f"s3://{BUCKET}/raw/{kind}_data")) for kind in ("song", "log")
        }
        with sparkify_dagster.connect(target) as warehouse, warehouse.transaction():
            report = stage_sources(warehouse, {"songs": sources["song"], "events": sources["log"]})
        return [r.files_loaded for r in report.sources], sources["song"].read + sources["log"].read

    assert stage() == ([1, 0], [f"s3://{BUCKET}/{key}"] * 2)  # compared, then loaded
    assert stage() == ([0, 0], [])
    with sparkify_dagster.connect(target) as warehouse:
        assert warehouse.query("SELECT duration FROM staging_songs ORDER BY duration") == [
            (1.5,),
            (7.5,),
        ]


def test_access_denied_says_which_credentials_without_secrets(
    s3: Any, without_permissions: Callable[[], dict[str, str]]
) -> None:
    put_small_dataset(s3)
    key = without_permissions()
    with pytest.raises(SourceError) as caught:
        open_source(f"s3://{BUCKET}/raw/song_data").files()
    message = str(caught.value)
    assert "access to s3://sparkify-raw/raw/song_data was denied" in message
    assert "environment variables" in message and "SPARKIFY_NO_SIGN_REQUEST=true" in message
    assert key["SecretAccessKey"] not in message and key["AccessKeyId"] not in message


def test_retries_ride_out_throttling_and_dropped_connections(
    s3: Any, proxy: FaultyProxy, target: str
) -> None:
    put_small_dataset(s3)
    throttled = proxy.fail("GET", r"TRAAA\.json", "503", times=2)
    dropped = proxy.fail("GET", r"events\.json", "drop", times=2)
    listing = proxy.fail("GET", r"list-type=2", "503", times=1)
    cut = proxy.fail("GET", r"TRAAB\.json", "cut", times=2)

    result = s3_run(target)

    assert (throttled.hits, dropped.hits, listing.hits, cut.hits) == (2, 2, 1, 2)
    assert result.counts["staging_songs"] == 2
    assert result.counts["songplays"] == 3


def test_objects_cut_off_mid_body_every_time_fail_clearly(s3: Any, proxy: FaultyProxy) -> None:
    put_small_dataset(s3)
    proxy.fail("GET", r"TRAAB\.json", "cut")
    source = open_source(f"s3://{BUCKET}/raw/song_data")
    with pytest.raises(SourceError, match=r"TRAAB\.json failed 5 times, the connection broke off"):
        list(source.contents(source.files()))


def test_no_sign_request_setting(tmp_path: Path) -> None:
    assert Settings.resolve(environ={"SPARKIFY_NO_SIGN_REQUEST": "true"}).no_sign_request
    assert not Settings.resolve(environ={"SPARKIFY_NO_SIGN_REQUEST": "0"}).no_sign_request
    assert Settings.resolve(no_sign_request=True, environ={}).no_sign_request
    config = tmp_path / "dwh.cfg"
    config.write_text("[S3]\nNO_SIGN_REQUEST='yes'\n")
    assert Settings.resolve(config=config, environ={}).no_sign_request
    with pytest.raises(ConfigError, match=r"SPARKIFY_NO_SIGN_REQUEST.*'maybe'"):
        Settings.resolve(environ={"SPARKIFY_NO_SIGN_REQUEST": "maybe"})


def test_a_location_without_a_bucket_is_an_error() -> None:
    with pytest.raises(SourceError, match="names no bucket"):
        open_source("s3:///song_data")


def test_client_uses_the_named_profile_and_sizes_its_pool_to_the_threads(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[etl]\naws_access_key_id = AKIDETL\naws_secret_access_key = hush\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_PROFILE", "etl")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    source = S3Source(f"s3://{BUCKET}/raw", workers=12)

    config = source.client().meta.config

    assert source.credentials == "credentials from the shared credentials file, profile 'etl'"
    assert config.max_pool_connections == 12
    assert config.retries["total_max_attempts"] == 5
    assert "hush" not in repr(source) and "AKIDETL" not in source.credentials


def test_staging_from_s3_says_objects_bytes_and_rate(s3: Any, tmp_path: Path) -> None:
    put_small_dataset(s3)
    said: list[str] = []

    sparkify_dagster.etl(
        Settings(
            song_data=f"s3://{BUCKET}/raw/song_data",
            log_data=f"s3://{BUCKET}/raw/log_data",
            target=f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        ),
        progress=Ticker(said.append, interval=0),
    )

    assert "staging songs: starting, 2 files" in said
    assert any(
        re.fullmatch(
            r"staging songs: 2/2 files, 2 records \(0 rejected\), \d+ bytes at .+/s, \d+ s", line
        )
        for line in said
    ), said


DIRS = st.sampled_from(["d", ".d", "d-e", "dir.json", ".ipynb_checkpoints"])
NAMES = st.sampled_from(["f.json", ".f.json", "f.json.gz", "f.txt", "g.JSON", "f-e.json"])
TREES = st.sets(st.tuples(st.lists(DIRS, max_size=3).map(tuple), NAMES), min_size=1, max_size=6)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=TREES)
def test_keys_are_chosen_and_ordered_exactly_like_local_files(
    s3: Any, tmp_path_factory: pytest.TempPathFactory, tree: set[tuple[tuple[str, ...], str]]
) -> None:
    root = tmp_path_factory.mktemp("tree")
    prefix = root.name  # a fresh prefix per example, in the same bucket
    for folders, name in tree:
        relative = "/".join([*folders, name])
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("{}")
        put(s3, f"{prefix}/{relative}", "{}")

    try:
        local = [Path(f.uri).relative_to(root).as_posix() for f in LocalSource(root).files()]
    except SourceError:
        local = []
    try:
        remote = open_source(f"s3://{BUCKET}/{prefix}").files()
    except SourceError:
        remote = []

    assert [f.uri.removeprefix(f"s3://{BUCKET}/{prefix}/") for f in remote] == local


def test_boto3_is_imported_only_when_s3_is_read() -> None:
    code = (
        "import sys, sparkify_dagster; from sparkify_dagster.ingest.sources import open_source; "
        "open_source('data'); print('boto3' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"


def test_the_s3_object_helpers_word_aws_errors_through_the_one_translator() -> None:
    from botocore.exceptions import ClientError, NoCredentialsError

    from sparkify_dagster.ingest.s3_objects import translate

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "Put")
    with pytest.raises(SourceError) as caught:
        translate(denied, "cannot write s3://b/k")
    assert str(caught.value) == (
        "S3 cannot write s3://b/k: AccessDenied: Access Denied "
        "(check the AWS credentials and the bucket policy)"
    )
    with pytest.raises(SourceError, match=r"\(set AWS_PROFILE or AWS_ACCESS_KEY_ID"):
        translate(NoCredentialsError(), "cannot read s3://b/k")
