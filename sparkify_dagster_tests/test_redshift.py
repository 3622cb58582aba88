"""Redshift, without a cluster: every statement golden-filed and parsed with sqlglot's Redshift
dialect; the S3 side (JSONPaths, compaction, manifests) against the loopback moto server."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import boto3
import orjson
import pytest
import sqlglot
from sqlglot import exp

import sparkify_dagster
from sparkify_dagster.core.errors import ConfigError, RecordError, WarehouseError
from sparkify_dagster.core.settings import Settings
from sparkify_dagster.ingest.compact import compact, part_count, split_by_size
from sparkify_dagster.ingest.files import SourceFile
from sparkify_dagster.ingest.parse import EVENT_FIELDS
from sparkify_dagster.warehouse import quality, transform
from sparkify_dagster.warehouse.days import Days
from sparkify_dagster.warehouse.engines import DuckDBWarehouse, PostgresWarehouse, RedshiftWarehouse
from sparkify_dagster.warehouse.engines import redshift_copy as redshift_load
from sparkify_dagster.warehouse.engines.redshift_copy import RedshiftOptions
from sparkify_dagster.warehouse.model import STAGING_EVENTS, TABLES, Type
from sparkify_dagster.warehouse.quality import checks_for
from sparkify_dagster_tests import golden

ROLE = "arn:aws:iam::123456789012:role/dwhRole"
CLUSTER = "redshift://dwhuser@dwhcluster.abc123.us-west-2.redshift.amazonaws.com:5439/dwh"
S3_SETTINGS = Settings(
    song_data="s3://udacity-dend/song_data", log_data="s3://udacity-dend/log_data", target=CLUSTER
)
CLASSIC = RedshiftOptions(
    iam_role=ROLE, region="us-west-2", log_jsonpath="s3://udacity-dend/log_json_path.json"
)
COMPACT = RedshiftOptions(
    iam_role=ROLE,
    region="us-west-2",
    staging="s3://my-staging/sparkify",
    compact=True,
    max_errors=10,
)


def parse_redshift(statement: str) -> exp.Expression:
    """``statement`` parsed strictly: an unparsed fallback (``Command``) counts as a failure."""
    parsed = sqlglot.parse_one(statement, read="redshift", error_level=sqlglot.ErrorLevel.RAISE)
    assert not isinstance(parsed, exp.Command), f"sqlglot did not understand:\n{statement}"
    return parsed


def redshift_golden_sets() -> dict[str, list[str]]:
    engine = RedshiftWarehouse.dialect
    classic = sparkify_dagster.plan(S3_SETTINGS, redshift=CLASSIC)
    compacted = sparkify_dagster.plan(S3_SETTINGS, redshift=COMPACT)
    first, last = len(TABLES), -len(transform.statements(engine))
    days = Days("2018-11-05", "2018-11-07")
    return {
        "ddl": [engine.create_table_sql(table) for table in TABLES],
        "drop": [engine.drop_table_sql(table) for table in TABLES],
        "staging": classic[first:last],
        "staging_compact": compacted[first:last],
        "transforms": classic[last:],
        "transforms_days": transform.day_statements(engine, Days("2018-11-05", "2018-11-07")),
        "load_errors": [redshift_load.LOAD_ERRORS_SQL, redshift_load.STL_LOAD_ERRORS_SQL],
        "checks": [
            sql
            for check in checks_for(RedshiftWarehouse)
            for sql in (quality.count_sql(check), quality.sample_sql(check))
        ],
        "checks_days": [
            quality.bind(sql, days, engine.placeholder)[0]
            for check in checks_for(RedshiftWarehouse)
            if check.day_sql is not None
            for sql in (quality.count_sql(check, days), quality.sample_sql(check, days))
        ],
    }


@pytest.mark.parametrize("name", sorted(redshift_golden_sets()))
def test_redshift_statements_match_golden_files_and_parse(name: str) -> None:
    statements = redshift_golden_sets()[name]
    golden.check("redshift", name, statements)
    for statement in statements:
        parse_redshift(statement)
    text = (golden.GOLDEN / "redshift" / f"{name}.sql").read_text()
    assert all(parsed is not None for parsed in sqlglot.parse(text, read="redshift"))


def test_the_whole_redshift_plan_is_golden() -> None:
    sets = redshift_golden_sets()
    plan = sparkify_dagster.plan(S3_SETTINGS, redshift=CLASSIC)
    assert plan == sets["ddl"] + sets["staging"] + sets["transforms"]
    assert not any("TRUNCATE" in statement.upper() for statement in plan)


@pytest.mark.parametrize("engine", [DuckDBWarehouse, PostgresWarehouse])
def test_local_engine_ddl_and_loads_are_golden(engine: type[DuckDBWarehouse]) -> None:
    dialect = engine.dialect
    golden.check(engine.name, "ddl", [dialect.create_table_sql(table) for table in TABLES])
    golden.check(
        engine.name,
        "plan",
        sparkify_dagster.plan(
            target="postgresql://" if engine is PostgresWarehouse else "x.duckdb"
        ),
    )


def test_redshift_table_design_follows_the_model() -> None:
    engine = RedshiftWarehouse.dialect
    for table in TABLES:
        ddl = engine.create_table_sql(table)
        create = parse_redshift(ddl)
        assert "DECIMAL" not in ddl and "NUMERIC" not in ddl
        for column in table.columns:
            if column.type is Type.TEXT:
                assert f'"{column.name}" VARCHAR({column.size})' in ddl
            if column.type is Type.DOUBLE:
                assert f'"{column.name}" DOUBLE PRECISION' in ddl
        if table.dist_all:
            assert "DISTSTYLE ALL" in ddl
        elif table.dist_key:
            assert f'DISTKEY ("{table.dist_key}")' in ddl
        if table.sort_key:
            assert (
                f"SORTKEY ({', '.join(f'{k!r}'.replace(chr(39), chr(34)) for k in table.sort_key)})"
                in ddl
            )
        assert isinstance(create, exp.Create)
    # COPY cannot fill the lineage columns: nullable on Redshift only
    assert '"source_line" INTEGER NOT NULL' in PostgresWarehouse.dialect.create_table_sql(
        STAGING_EVENTS
    )
    assert "NOT NULL" not in engine.create_table_sql(STAGING_EVENTS).split('"source_file"')[1]


def test_generated_jsonpaths_map_eventsim_fields_to_columns_in_order() -> None:
    paths = orjson.loads(redshift_load.jsonpaths_document())["jsonpaths"]
    columns = redshift_load.copy_columns(STAGING_EVENTS)
    assert len(paths) == len(columns) == 18
    assert paths[2] == "$['firstName']" and columns[2] == "first_name"
    assert [p[3:-2] for p in paths] == [field.key for field in EVENT_FIELDS]
    with_lineage = orjson.loads(redshift_load.jsonpaths_document(lineage=True))["jsonpaths"]
    assert with_lineage == [*paths, "$['source_file']", "$['source_line']"]
    assert redshift_load.copy_columns(STAGING_EVENTS, lineage=True)[-2:] == (
        "source_file",
        "source_line",
    )


def test_copy_options_follow_the_settings() -> None:
    copies = [
        s for s in sparkify_dagster.plan(S3_SETTINGS, redshift=COMPACT) if s.startswith("COPY")
    ]
    assert len(copies) == 2
    songs, events = copies
    assert "FROM 's3://my-staging/sparkify/staging_songs/manifest.json'" in songs
    assert "FORMAT AS JSON 'auto ignorecase'" in songs
    assert (
        "FORMAT AS JSON 's3://my-staging/sparkify/jsonpaths/staging_events_lineage.json'" in events
    )
    assert '"source_file", "source_line")' in songs.splitlines()[0]
    for copy in copies:
        for clause in (
            "MANIFEST",
            "GZIP",
            "REGION 'us-west-2'",
            "COMPUPDATE OFF STATUPDATE OFF",
            "MAXERROR 10",
            f"IAM_ROLE '{ROLE}'",
        ):
            assert clause in copy.splitlines()


def test_missing_redshift_settings_say_where_to_put_them() -> None:
    with pytest.raises(ConfigError, match=r"set \$SPARKIFY_IAM_ROLE or \[IAM_ROLE\] ARN"):
        sparkify_dagster.plan(S3_SETTINGS, redshift=RedshiftOptions(log_jsonpath="s3://x/y.json"))
    with pytest.raises(ConfigError, match=r"\$SPARKIFY_STAGING or \[S3\] STAGING"):
        sparkify_dagster.plan(S3_SETTINGS, redshift=RedshiftOptions(iam_role=ROLE))
    local = Settings(song_data="data/song_data", log_data="data/log_data", target=CLUSTER)
    with pytest.raises(ConfigError, match=r"not on S3.*compaction"):
        sparkify_dagster.plan(local, redshift=CLASSIC)


def test_a_failed_copy_reads_like_a_local_reject() -> None:
    rows = [
        (
            "s3://b/log_data/2018/11/2018-11-02-events.json   ",
            17,
            "ts        ",
            "Invalid digit, Value 'a', Pos 0, Type: Long   ",
        ),
        ("s3://b/log_data/2018/11/2018-11-02-events.json", 18, "ts", "Invalid digit"),
    ]
    error = redshift_load.load_error(rows, "staging_events")
    assert isinstance(error, RecordError)
    assert str(error) == (
        "s3://b/log_data/2018/11/2018-11-02-events.json line 17: column ts: "
        "Invalid digit, Value 'a', Pos 0, Type: Long (and 1 more rejected lines)"
    )


def write_cfg(path: Path, **extra: str) -> Path:
    lines = [
        "[CLUSTER]",
        "HOST=dwhcluster.abc123.us-west-2.redshift.amazonaws.com",
        "DB_NAME=dwh",
        "DB_USER=dwhuser",
        "DB_PASSWORD=Passw0rdFromCfg",
        "DB_PORT=5439",
        "[IAM_ROLE]",
        f"ARN='{ROLE}'",
        "[S3]",
        "LOG_DATA='s3://udacity-dend/log_data'",
        "LOG_JSONPATH='s3://udacity-dend/log_json_path.json'",
        "SONG_DATA='s3://udacity-dend/song_data'",
        *(f"{key}={value}" for key, value in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_classic_dwh_cfg_names_the_cluster_and_the_copy_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write_cfg(tmp_path / "dwh.cfg")
    settings = Settings.resolve(config=cfg, environ={})
    assert settings.target == CLUSTER
    options = RedshiftOptions.resolve(config=cfg, environ={}, region="us-west-2")
    assert (options.iam_role, options.log_jsonpath) == (
        ROLE,
        "s3://udacity-dend/log_json_path.json",
    )
    assert options.password == "Passw0rdFromCfg"
    assert "Passw0rd" not in repr(options) and "Passw0rd" not in repr(settings)
    env = RedshiftOptions.resolve(config=cfg, environ={"SPARKIFY_DB_PASSWORD": "fromenv"})
    assert env.password == "fromenv"
    assert sparkify_dagster.plan(settings, redshift=options) == sparkify_dagster.plan(
        S3_SETTINGS, redshift=CLASSIC
    )


def test_redshift_run_reports_an_unreachable_cluster_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARKIFY_DB_PASSWORD", "TopSecret99")
    settings = Settings(
        song_data=S3_SETTINGS.song_data,
        log_data=S3_SETTINGS.log_data,
        target="redshift://dwhuser@127.0.0.1:1/dwh",
    )
    options = RedshiftOptions.resolve(
        iam_role=ROLE, region="us-west-2", log_jsonpath="s3://udacity-dend/log_json_path.json"
    )
    assert options.password == "TopSecret99"
    with pytest.raises(WarehouseError) as caught:
        sparkify_dagster.etl(settings, redshift=options)
    assert "TopSecret99" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


# -- the S3 side, on the loopback moto server ----------------------------------------------


def make_bucket(name: str) -> None:
    boto3.client("s3").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )


def upload_folder(folder: Path, bucket: str, prefix: str) -> int:
    s3 = boto3.client("s3")
    count = 0
    for path in sorted(folder.rglob("*.json")):
        s3.put_object(
            Bucket=bucket, Key=f"{prefix}/{path.relative_to(folder)}", Body=path.read_bytes()
        )
        count += 1
    return count


def read_gz_lines(bucket: str, key: str) -> list[bytes]:
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return gzip.decompress(body).splitlines()


def test_prepare_uploads_the_jsonpaths_file_next_to_the_staging_prefix(aws: str) -> None:
    make_bucket("my-staging")
    options = RedshiftOptions(iam_role=ROLE, staging="s3://my-staging/sparkify/")
    assert redshift_load.prepare("songs", str(S3_SETTINGS.song_data), options) is None
    assert redshift_load.prepare("events", str(S3_SETTINGS.log_data), options) is None
    body = (
        boto3.client("s3")
        .get_object(Bucket="my-staging", Key="sparkify/jsonpaths/staging_events.json")["Body"]
        .read()
    )
    assert body == redshift_load.jsonpaths_document()


def test_compact_merges_small_files_into_slices_and_keeps_every_record(
    aws: str, tmp_path: Path
) -> None:
    data = sparkify_dagster.generate(tmp_path / "data", songs=40, events=300, days=5, seed=4)
    make_bucket("udacity-like")
    make_bucket("my-staging")
    songs = upload_folder(data.song_data, "udacity-like", "song_data")
    upload_folder(data.log_data, "udacity-like", "log_data")
    settings = Settings(
        song_data="s3://udacity-like/song_data",
        log_data="s3://udacity-like/log_data",
        target=CLUSTER,
    )
    options = RedshiftOptions(iam_role=ROLE, staging="s3://my-staging/run1", compact=True, slices=4)
    song_result = redshift_load.prepare("songs", str(settings.song_data), options)
    event_result = redshift_load.prepare("events", str(settings.log_data), options)
    assert song_result is not None and event_result is not None

    assert (song_result.objects_before, song_result.objects_after) == (songs, 4)
    assert (event_result.objects_before, event_result.objects_after) == (5, 4)
    s3 = boto3.client("s3")
    manifest = json.loads(
        s3.get_object(Bucket="my-staging", Key="run1/staging_songs/manifest.json")["Body"].read()
    )
    urls = [entry["url"] for entry in manifest["entries"]]
    assert urls == [f"s3://my-staging/run1/staging_songs/part-0000{i}.json.gz" for i in range(4)]
    assert all(entry["mandatory"] for entry in manifest["entries"])
    lines = [
        line for url in urls for line in read_gz_lines("my-staging", url[len("s3://my-staging/") :])
    ]
    assert len(lines) == songs
    originals = sorted(json.loads(p.read_text())["song_id"] for p in data.song_data.rglob("*.json"))
    assert sorted(json.loads(line)["song_id"] for line in lines) == originals
    first = min(data.song_data.rglob("*.json"))
    expected = {
        **json.loads(first.read_text()),
        "source_file": f"s3://udacity-like/song_data/{first.relative_to(data.song_data)}",
        "source_line": None,
    }
    assert json.loads(lines[0]) == expected  # values unchanged, lineage added
    event_lines = [
        line
        for i in range(4)
        for line in read_gz_lines("my-staging", f"run1/staging_events/part-0000{i}.json.gz")
    ]
    assert len(event_lines) == 300
    day_one = json.loads(event_lines[0])
    assert day_one["source_file"] == "s3://udacity-like/log_data/2018/11/2018-11-01-events.json"
    assert day_one["source_line"] == 1
    jsonpaths = s3.get_object(Bucket="my-staging", Key="run1/jsonpaths/staging_events_lineage.json")
    assert jsonpaths["Body"].read() == redshift_load.jsonpaths_document(lineage=True)
    assert song_result.bytes_after < song_result.bytes_before


def test_compact_names_a_broken_song_file(aws: str, tmp_path: Path) -> None:
    make_bucket("src")
    s3 = boto3.client("s3")
    s3.put_object(Bucket="src", Key="song_data/A/ok.json", Body=b'{"song_id": "SOA"}')
    s3.put_object(Bucket="src", Key="song_data/A/bad.json", Body=b'{"song_id": ')
    with pytest.raises(RecordError, match=r"s3://src/song_data/A/bad.json: invalid JSON"):
        compact("s3://src/song_data", "s3://src/staging", "staging_songs", kind="songs")


def test_compact_reads_local_folders_too(aws: str, tmp_path: Path) -> None:
    data = sparkify_dagster.generate(tmp_path / "data", songs=10, events=30, days=2, seed=1)
    make_bucket("my-staging")
    result = compact(
        str(data.song_data), "s3://my-staging/x", "staging_songs", kind="songs", slices=2
    )
    assert (result.objects_before, result.objects_after) == (10, 2)


def test_parts_are_a_multiple_of_the_slices_and_balanced_by_size() -> None:
    assert part_count(14896, 4_000_000, 4) == 4
    assert part_count(14896, 4_000_000, 16) == 16
    assert part_count(2, 100, 4) == 2
    files = [SourceFile(f"f{i}", size, "") for i, size in enumerate([10] * 40)]
    groups = split_by_size(files, 4)
    assert [len(group) for group in groups] == [10, 10, 10, 10]
    assert [file for group in groups for file in group] == files  # order kept
    uneven = [SourceFile(f"f{i}", 1000 if i == 0 else 1, "") for i in range(5)]
    assert len(split_by_size(uneven, 4)) == 4


def test_redshift_runs_the_transforms_proven_on_postgresql() -> None:
    from sparkify_dagster.warehouse import transform

    assert transform.statements(RedshiftWarehouse.dialect) == transform.statements(
        PostgresWarehouse.dialect
    )
