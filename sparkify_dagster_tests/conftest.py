"""Shared fixtures: datasets, real warehouses (DuckDB files in temporary folders, a PostgreSQL
server the suite starts itself) and AWS on a loopback moto server. Plain helpers are in
:mod:`sparkify_dagster_tests.helpers`."""

from __future__ import annotations

import itertools
import os
import tempfile
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

import sparkify_dagster
from sparkify_dagster_tests.daemon import Daemon, running_daemon
from sparkify_dagster_tests.helpers import BUCKET, REPO, Store, load, s3_bucket, star

# Hypothesis keeps the examples it found in a folder of its own, not `.hypothesis/` where the
# tests run (the checkout).
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "sparkify-hypothesis")

# What a test could leave in the checkout by writing to the working directory (a rejects file,
# a report, a warehouse, an instance's logs): none of them may appear while the suite runs.
STRAYS = (
    "sparkify-rejects.jsonl", ".hypothesis", "logs", "report", "sparkify.duckdb", ".dagster",
    "out", "history", "schedules", "storage",
)  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    # dagster_graphql's client calls gql the way gql now deprecates; nothing of ours to change.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Using variable_values and operation_name arguments:DeprecationWarning",
    )


# The modules that take longest (mostly waiting on a daemon, a webserver or subprocesses), first:
# `./dev test` hands whole modules to its workers in the order collected, so these start at once
# instead of ending the suite alone on one worker.
SLOW_FIRST = (
    "test_dev.py", "test_sensors_daemon.py", "test_jobs.py", "test_reliability.py",
    "test_pools.py", "test_ui.py", "test_days.py", "test_definitions.py",
    "test_sensors_daemon_days.py",
    "test_partitions.py", "test_incremental.py", "test_dg.py", "test_plain.py",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: each module's tests keep their order


@pytest.fixture(scope="session", autouse=True)
def _checkout_left_clean() -> Iterator[None]:
    """Fails the session when a test left one of :data:`STRAYS` in the checkout (or the folder
    the tests run from) that was not there before."""
    folders = {REPO, Path.cwd()}
    before = {folder / name for folder in folders for name in STRAYS if (folder / name).exists()}
    yield
    after = {folder / name for folder in folders for name in STRAYS if (folder / name).exists()}
    assert after <= before, f"the tests left {sorted(map(str, after - before))} behind"


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """An empty dataset folder with ``song_data`` and ``log_data`` ready to fill."""
    (tmp_path / "data" / "song_data").mkdir(parents=True)
    (tmp_path / "data" / "log_data").mkdir(parents=True)
    return tmp_path / "data"


ENGINES = ("duckdb", "postgresql")


@pytest.fixture(params=ENGINES)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty warehouse on each engine this machine can run: a DuckDB file in a temporary
    folder, and a fresh database on the suite's PostgreSQL server."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_database"))
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture
def duckdb_target(tmp_path: Path) -> str:
    """A DuckDB warehouse file in a temporary folder."""
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterable[str]:
    """A PostgreSQL server on a free loopback port for the whole session; yields its base URI.

    Skipped (with the reason) when no PostgreSQL binaries are installed, unless
    ``SPARKIFY_REQUIRE_POSTGRES=1``, which turns that into a failure (CI sets it).
    """
    from sparkify_dagster_tests.pgserver import PostgresServer, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = (
            "PostgreSQL binaries not found ($SPARKIFY_POSTGRES_BIN, initdb on PATH or "
            "/usr/lib/postgresql/*/bin): "
            "apt-get install postgresql"
        )
        if os.environ.get("SPARKIFY_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (SPARKIFY_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    with PostgresServer(bin_dir) as server:
        yield server.uri()


@pytest.fixture
def postgres_database(postgres_server: str) -> str:
    """A new, empty database on the session's PostgreSQL server; yields its URI."""
    import psycopg

    name = f"test_{next(_DATABASE_NUMBERS)}"
    with psycopg.connect(postgres_server + "postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return postgres_server + name


_DATABASE_NUMBERS = itertools.count(1)


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test shares one generated built-in sample, outside the user's own cache."""
    monkeypatch.setenv("SPARKIFY_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    for name in ("SPARKIFY_SONG_DATA", "SPARKIFY_LOG_DATA", "SPARKIFY_TARGET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterable[str]:
    """A moto server on loopback (S3, IAM, EC2, Redshift), for the whole test session."""
    import os

    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_environment(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Real boto3 talks to the loopback moto server through the standard AWS settings only."""
    for name in (
        "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE", "SPARKIFY_NO_SIGN_REQUEST",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    return moto_endpoint


@pytest.fixture
def enforce_auth(aws_environment: str) -> Iterator[Callable[[float], None]]:
    """Make moto check credentials and IAM policies after ``n`` more unchecked requests (0: at
    once); it stops checking when the test ends."""

    def after(n: float) -> None:
        request = urllib.request.Request(
            f"{aws_environment}/moto-api/reset-auth",
            data=str(n).encode(),
            headers={"Content-Type": "text/plain"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()

    yield after
    after(float("inf"))


@pytest.fixture
def without_permissions(
    enforce_auth: Callable[[float], None], monkeypatch: pytest.MonkeyPatch
) -> Callable[[], dict[str, str]]:
    """A switch to the credentials of a new IAM user with no permissions, which moto checks from
    then on; it returns the user's access key."""
    import boto3

    def switch() -> dict[str, str]:
        iam = boto3.client("iam")
        user = f"nobody-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=user)
        key: dict[str, str] = iam.create_access_key(UserName=user)["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        enforce_auth(0)
        return key

    return switch


@pytest.fixture
def aws(aws_environment: str) -> str:
    """``aws_environment`` on a freshly reset server: each test starts with an empty account."""
    request = urllib.request.Request(f"{aws_environment}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    return aws_environment


@pytest.fixture(params=["s3", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A fresh prefix in the moto bucket (the server is not reset: each test has its own
    prefix), or a fresh local folder."""
    if request.param == "s3":
        request.getfixturevalue("aws_environment")
        return Store("s3", f"s3://{BUCKET}/{uuid.uuid4().hex[:12]}", s3_bucket())
    return Store("local", str(tmp_path / "raw"))


@pytest.fixture(scope="module")
def big_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough that a load runs for a while, so a kill lands mid-run."""
    folder = tmp_path_factory.mktemp("big")
    sparkify_dagster.generate(folder, songs=3000, events=120_000, days=6, seed=5)
    return folder


@pytest.fixture(scope="module")
def big_reference(big_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Counts and star rows of one clean run (star rows name no source file, so they compare
    across folders)."""
    target = f"duckdb:///{tmp_path_factory.mktemp('reference') / 'clean.duckdb'}"
    load(big_dataset, target, checks=False)
    return {"counts": sparkify_dagster.analyze(target), "star": star(target)}


@pytest.fixture
def daemon(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Daemon, str]]:
    """``dagster-daemon`` on a temporary instance reading ``store``, not yet started."""
    yield from running_daemon(tmp_path, store, monkeypatch)
