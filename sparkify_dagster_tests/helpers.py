"""Plain helpers the test modules share: records and datasets, warehouse contents, Dagster runs,
AWS stand-ins. Fixtures live in ``conftest.py``; test modules import from here, never from each
other."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
from dagster import AssetSelection, DagsterInstance, ExecuteInProcessResult, materialize
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

import sparkify_dagster
from sparkify_dagster.assets import TABLE_ASSETS
from sparkify_dagster.checks import TABLE_CHECKS
from sparkify_dagster.ingest.days import log_day
from sparkify_dagster.ingest.files import Folders, Listing, Source, SourceFile, Survey
from sparkify_dagster.ingest.generate import EVENT_FIELDS
from sparkify_dagster.ingest.sources import LocalSource
from sparkify_dagster.partitions import LOG_DAYS
from sparkify_dagster.resources import SourcesResource, WarehouseResource
from sparkify_dagster.warehouse.model import STAR_TABLES

REPO = Path(__file__).resolve().parent.parent
SHARED_SAMPLE = REPO.parent / "shared" / "sparkify-sample"
DAGSTER = Path(sys.executable).parent / "dagster"

# -- records and datasets -----------------------------------------------------------------------

T0 = 1541105830796
DAY_MS = 86_400_000


def song(
    song_id: str, title: str, artist_id: str, artist_name: str, duration: float, **extra: Any
) -> dict[str, Any]:
    """A song record as the published files hold it."""
    record = {
        "num_songs": 1,
        "artist_id": artist_id,
        "artist_latitude": None,
        "artist_longitude": None,
        "artist_location": "",
        "artist_name": artist_name,
        "song_id": song_id,
        "title": title,
        "duration": duration,
        "year": 0,
    }
    record.update(extra)
    return record


def event(ts: int, user_id: str = "7", page: str = "NextSong", **extra: Any) -> dict[str, Any]:
    """An event as eventsim writes it; a logged-out visitor when ``user_id`` is ``""``."""
    record: dict[str, Any] = dict.fromkeys(EVENT_FIELDS)
    logged_in = user_id != ""
    record.update(
        auth="Logged In" if logged_in else "Logged Out",
        firstName="Ada" if logged_in else None,
        gender="F" if logged_in else None,
        itemInSession=0,
        lastName="Lovelace" if logged_in else None,
        level="free",
        location="Columbia, SC" if logged_in else None,
        method="GET",
        page=page,
        registration=1540919166796.0 if logged_in else None,
        sessionId=1,
        status=200,
        ts=ts,
        userAgent="Mozilla\\/5.0" if logged_in else None,
        userId=user_id,
    )
    if page == "NextSong":
        record.update(method="PUT", artist="Nobody", song="Unknown Song", length=100.0)
    record.update(extra)
    return record


def write_songs(folder: Path, songs: Iterable[Mapping[str, Any]]) -> None:
    for record in songs:
        track = f"TR{record['song_id'][2:]}"
        path = folder / "A" / track[2] / track[3] / f"{track}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))


def write_events(path: Path, events: Iterable[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(record, separators=(",", ":")) for record in events))


def day_file(dataset: Path, day: int) -> Path:
    return dataset / "log_data" / "2018" / "11" / f"2018-11-{day:02d}-events.json"


def write_day(dataset: Path, day: int, count: int = 3, user: str = "7") -> None:
    base = T0 + (day - 1) * DAY_MS
    write_events(
        day_file(dataset, day),
        [event(base + i, user_id=user, sessionId=day, itemInSession=i) for i in range(count)],
    )


class Reading:
    """A source that notes the URI of every file whose bytes it reads."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.location = source.location
        self.read: list[str] = []

    def files(self) -> list[SourceFile]:
        return self.source.files()

    def contents(self, files: Iterable[SourceFile]) -> Iterator[tuple[SourceFile, bytes]]:
        for file, data in self.source.contents(files):
            self.read.append(file.uri)
            yield file, data

    def list_after(self, start_after: str = "", *, max_keys: int | None = None) -> Listing:
        return self.source.list_after(start_after, max_keys=max_keys)


class ReadingFolders(Reading):
    """A local source that notes the URI of every file whose bytes it reads."""

    def __init__(self, source: LocalSource) -> None:
        super().__init__(source)
        self.local = source
        self.trust_folder_times = source.trust_folder_times

    def survey(self, known: Folders, names: Mapping[str, Sequence[str]] | None = None) -> Survey:
        return self.local.survey(known, names)


def settle(*paths: Path, seconds_ago: float = 10.0) -> None:
    """Set the modification time of each file in ``paths`` (or below them) ``seconds_ago``: a
    stamp old enough to vouch for the bytes (:func:`~sparkify_dagster.ingest.files.mtime_version`)
    and different from the one it had."""
    when = time.time_ns() - int(seconds_ago * 1e9)
    for path in paths:
        for file in [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]:
            os.utime(file, ns=(when, when))


# -- warehouse runs and contents ----------------------------------------------------------------


def star(target: str) -> dict[str, list[tuple[object, ...]]]:
    with sparkify_dagster.connect(target) as warehouse:
        return {t.name: sorted(warehouse.query(f'SELECT * FROM "{t.name}"'), key=repr)
                for t in STAR_TABLES}  # fmt: skip


def of_data(counts: Mapping[str, int]) -> dict[str, int]:
    """Table counts without ``load_folders``: the bookkeeping of a local listing, which an S3
    location has none of, so that an S3 load compares with the same files loaded locally."""
    return {name: count for name, count in counts.items() if name != "load_folders"}


def load(dataset: Path, target: str, **options: object) -> sparkify_dagster.RunResult:
    """``etl`` of ``dataset``; too many rejects are written beside it, not into the checkout."""
    options.setdefault("rejects_file", dataset.parent / "rejects.jsonl")
    return sparkify_dagster.etl(
        song_data=str(dataset / "song_data"),
        log_data=str(dataset / "log_data"),
        target=target,
        **options,  # type: ignore[arg-type]
    )


ETL = (
    "import sys, sparkify_dagster; "
    "sparkify_dagster.etl(song_data=sys.argv[1], log_data=sys.argv[2], target=sys.argv[3], "
    "checks=False, lock_timeout=120)"
)


def etl_args(dataset: Path, target: str) -> list[str]:
    """A whole process that loads ``dataset`` into ``target`` through the library."""
    songs, logs = str(dataset / "song_data"), str(dataset / "log_data")
    return [sys.executable, "-c", ETL, songs, logs, target]


def half_loaded(big_dataset: Path, folder: Path, target: str) -> Path:
    """A copy of the big dataset whose first three days are loaded into ``target``: the next run
    over it is an incremental one (three new days)."""
    data = folder / "data"
    shutil.copytree(big_dataset / "song_data", data / "song_data")
    shutil.copytree(big_dataset / "log_data", data / "log_data")
    later_days = sorted((data / "log_data").rglob("*.json"))[3:]
    for path in later_days:
        path.rename(path.with_suffix(".later"))
    subprocess.run(etl_args(data, target), check=True, timeout=120)
    for path in later_days:
        path.with_suffix(".later").rename(path)
    return data


# -- Dagster ------------------------------------------------------------------------------------


def resources(target: str, dataset: Path) -> dict[str, Any]:
    return {
        "warehouse": WarehouseResource(target=target),
        "sources": SourcesResource(
            song_data=str(dataset / "song_data"), log_data=str(dataset / "log_data")
        ),
    }


def run_all(
    target: str,
    dataset: Path,
    *,
    run_config: dict[str, Any] | None = None,
    selection: AssetSelection | None = None,
    days: dict[str, str] | None = None,
) -> ExecuteInProcessResult:
    """Materialize every table asset and run every check, in one run, for ``days`` (default:
    the days of the dataset's logs), as a backfill of those days does."""
    return materialize(
        [*TABLE_ASSETS, *TABLE_CHECKS],
        resources=resources(target, dataset),
        instance=DagsterInstance.ephemeral(),
        run_config=run_config,
        selection=selection,
        raise_on_error=False,
        tags=days or days_of(dataset / "log_data"),
    )


def partition_range(log_data: Path) -> str:
    """``FIRST...LAST``, the days of the logs in ``log_data``, as ``--partition-range`` takes."""
    tags = days_of(log_data)
    return f"{tags[ASSET_PARTITION_RANGE_START_TAG]}...{tags[ASSET_PARTITION_RANGE_END_TAG]}"


def days_of(log_data: Path) -> dict[str, str]:
    """The tags of a run for the days of the logs in ``log_data`` (every day when none)."""
    days = sorted(filter(None, (log_day(str(path)) for path in log_data.rglob("*.json*"))))
    return every_day(days[0], days[-1]) if days else every_day()


def every_day(first: str | None = None, last: str | None = None) -> dict[str, str]:
    """The tags of a run for the days from ``first`` to ``last`` (default: every day)."""
    return {
        ASSET_PARTITION_RANGE_START_TAG: first or LOG_DAYS.get_first_partition_key() or "",
        ASSET_PARTITION_RANGE_END_TAG: last or LOG_DAYS.get_last_partition_key() or "",
    }


def dagster_home(tmp_path: Path) -> dict[str, str]:
    """A temporary DAGSTER_HOME holding the project's dagster.yaml, its folders (``.dagster``)
    inside the home wherever a command runs from (``./dev`` and ``dg`` run from the checkout)."""
    home = tmp_path / "home"
    home.mkdir()
    write_instance(home)
    return {**os.environ, "DAGSTER_HOME": str(home)}


def write_instance(home: Path) -> None:
    """The project's dagster.yaml in ``home``, with its relative folders made absolute in it."""
    config = (REPO / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(
        config.replace("base_dir: .dagster", f"base_dir: {home}/.dagster")
    )


def dagster(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``dagster`` command, run from ``env``'s DAGSTER_HOME."""
    return subprocess.run(
        [str(DAGSTER), *args], capture_output=True, text=True, env=env, cwd=env["DAGSTER_HOME"],
        timeout=300,
    )  # fmt: skip


# -- AWS ----------------------------------------------------------------------------------------

# A dwh.cfg as the classic project wrote it, for a 4-node cluster.
CLASSIC = """\
# Sparkify warehouse settings
[AWS]
KEY=
SECRET=
REGION=us-west-2

[DWH]
DWH_CLUSTER_TYPE=multi-node
DWH_NUM_NODES=4
DWH_NODE_TYPE=dc2.large
DWH_IAM_ROLE_NAME=dwhRole
DWH_CLUSTER_IDENTIFIER=dwhCluster
DWH_DB=dwh
DWH_DB_USER=dwhuser
DWH_DB_PASSWORD='Passw0rd'
DWH_PORT=5439
DWH_ALLOWED_CIDR=203.0.113.7/32

[CLUSTER]
HOST=''
DB_NAME='dwh'
DB_USER='dwhuser'
DB_PASSWORD='Passw0rd'
DB_PORT=5439

[IAM_ROLE]
ARN=''

[S3]
LOG_DATA='s3://udacity-dend/log-data'
SONG_DATA='s3://udacity-dend/song-data'
"""


def ingress(group_id: str) -> list[tuple[str, int, int, str]]:
    """A security group's inbound rules: (protocol, from port, to port, CIDR)."""
    group = boto3.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return sorted(
        (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], ip["CidrIp"])
        for rule in group["IpPermissions"]
        for ip in rule.get("IpRanges", [])
    )


BUCKET = "sparkify-sensors"


class Store:
    """Where the raw files live for one test: a prefix in the moto bucket, or a local folder."""

    def __init__(self, kind: str, root: str, s3: Any = None) -> None:
        self.kind = kind
        self.root = root  # s3://bucket/prefix or a folder
        self.s3 = s3

    def location(self, data: str) -> str:
        return f"{self.root}/{data}"

    def put(self, key: str, body: bytes | str) -> None:
        data = body.encode() if isinstance(body, str) else body
        if self.s3 is not None:
            prefix = self.root.removeprefix(f"s3://{BUCKET}/")
            self.s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{key}", Body=data)
        else:
            path = Path(self.root) / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def delete(self, key: str) -> None:
        if self.s3 is not None:
            prefix = self.root.removeprefix(f"s3://{BUCKET}/")
            self.s3.delete_object(Bucket=BUCKET, Key=f"{prefix}/{key}")
        else:
            (Path(self.root) / key).unlink()

    def upload(self, folder: Path, data: str, *, skip: tuple[str, ...] = ()) -> list[str]:
        """Every file of ``folder`` as ``data/<relative path>``, but those named in ``skip``."""
        keys = []
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name not in skip:
                key = f"{data}/{path.relative_to(folder).as_posix()}"
                self.put(key, path.read_bytes())
                keys.append(key)
        return keys

    def sources(self) -> SourcesResource:
        return SourcesResource(
            song_data=self.location("song_data"), log_data=self.location("log_data")
        )


def s3_bucket() -> Any:
    """The sensors' bucket in the moto account, made if need be; an S3 client."""
    client = boto3.client("s3")
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
    return client
