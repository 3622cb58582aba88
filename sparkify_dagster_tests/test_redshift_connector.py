"""The Redshift engine through Amazon's driver, redshift-connector, against a real server.

Redshift speaks PostgreSQL's wire protocol, so the suite's PostgreSQL server stands in for the
cluster, behind a loopback shim (:mod:`sparkify_dagster_tests.redshift_shim`) that lets the
driver's Redshift-only startup in. Everything else is real: the driver's protocol, TLS with a
certificate the driver verifies, IAM authentication against the moto server, and PostgreSQL
executing the statements. Redshift-only SQL (COPY from S3, DISTKEY/SORTKEY) is proven by its
sqlglot parse and golden files in ``test_redshift.py``.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import psycopg
import pytest
from redshift_connector.core import Connection

from sparkify_dagster.core.errors import ConfigError, RecordError, WarehouseError
from sparkify_dagster.resources import WarehouseResource
from sparkify_dagster.warehouse.days import Days
from sparkify_dagster.warehouse.engines import (
    PostgresWarehouse,
    RedshiftOptions,
    RedshiftWarehouse,
    connect,
)
from sparkify_dagster.warehouse.engines.redshift_driver import Endpoint, connect_arguments
from sparkify_dagster.warehouse.model import LOG_FILES, STAGING_EVENTS, STAGING_SONGS, USERS_PENDING
from sparkify_dagster_tests.helpers import BUCKET, s3_bucket
from sparkify_dagster_tests.redshift_shim import RedshiftShim

SECRET = "Sh1m-Secret-99"
ROLE = "arn:aws:iam::123456789012:role/dwhRole"


def upstream(postgres_server: str) -> tuple[str, int]:
    parts = urlsplit(postgres_server)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


@pytest.fixture(scope="module")
def shim(postgres_server: str) -> Iterator[RedshiftShim]:
    """The cluster stand-in without TLS (targets say ``sslmode=disable``)."""
    with RedshiftShim(upstream(postgres_server)) as running:
        yield running


@pytest.fixture
def target(postgres_database: str, shim: RedshiftShim) -> str:
    """A fresh database, as a ``redshift://`` target through the shim."""
    database = urlsplit(postgres_database).path.strip("/")
    return f"redshift://postgres@127.0.0.1:{shim.port}/{database}?sslmode=disable"


def warehouse(target: str, **options: object) -> RedshiftWarehouse:
    engine = connect(target, redshift=RedshiftOptions(password=SECRET, **options))  # type: ignore[arg-type]
    assert isinstance(engine, RedshiftWarehouse)
    return engine


def rows_seen_by_others(postgres_database: str, sql: str) -> list[tuple[object, ...]]:
    """What another session sees: committed rows only."""
    with psycopg.connect(postgres_database, autocommit=True) as other:
        return other.execute(sql).fetchall()


def test_statements_parameters_and_transactions(target: str, postgres_database: str) -> None:
    with warehouse(target) as engine:
        assert isinstance(engine.db, Connection)
        engine.execute('CREATE TABLE "plays" ("user_id" BIGINT, "level" TEXT, "at" TIMESTAMP)')
        at = datetime.datetime(2018, 11, 2, 1, 2, 3, 796000)
        with engine.transaction():
            engine.execute('INSERT INTO "plays" VALUES (%s, %s, %s)', [7, "paid", at])
            engine.execute('INSERT INTO "plays" VALUES (%s, %s, %s)', [8, None, None])
            with engine.transaction():  # joins the outer one
                engine.execute('INSERT INTO "plays" VALUES (%s, %s, %s)', [9, "it's", at])
            assert rows_seen_by_others(postgres_database, 'SELECT * FROM "plays"') == []
        assert engine.query('SELECT "user_id", "level", "at" FROM "plays" ORDER BY 1') == [
            (7, "paid", at),
            (8, None, None),
            (9, "it's", at),
        ]
        assert engine.query('SELECT COUNT(*) FROM "plays" WHERE "level" = %s', ["paid"]) == [(1,)]
        assert len(rows_seen_by_others(postgres_database, 'SELECT * FROM "plays"')) == 3

        with pytest.raises(WarehouseError) as raised, engine.transaction():
            engine.execute('DELETE FROM "plays"')
            engine.execute('INSERT INTO "plays" VALUES (%s, %s, %s)', ["not a number", "x", at])
        assert "refused 'INSERT INTO \"plays\" VALUES (%s, %s, %s)'" in str(raised.value)
        assert engine.query('SELECT COUNT(*) FROM "plays"') == [(3,)]  # rolled back
        assert len(rows_seen_by_others(postgres_database, 'SELECT * FROM "plays"')) == 3

        with pytest.raises(KeyError), engine.transaction():  # any error rolls back
            engine.execute('DELETE FROM "plays"')
            raise KeyError("stop")
        assert engine.query('SELECT COUNT(*) FROM "plays"') == [(3,)]
        assert "plays" in engine.table_names()


def test_delete_sources_binds_each_file(target: str) -> None:
    with warehouse(target) as engine:
        engine.execute(PostgresWarehouse.dialect.create_table_sql(STAGING_SONGS))
        columns = ", ".join(f'"{name}"' for name in STAGING_SONGS.column_names)
        marks = ", ".join(["%s"] * len(STAGING_SONGS.column_names))
        for file in ("a.json", "b.json", "c'.json"):
            values: list[object] = [None] * len(STAGING_SONGS.column_names)
            values[STAGING_SONGS.column_names.index("source_file")] = file
            values[STAGING_SONGS.column_names.index("source_line")] = 1
            values[STAGING_SONGS.column_names.index("song_id")] = f"SO{file[0]}"
            engine.execute(f'INSERT INTO "staging_songs" ({columns}) VALUES ({marks})', values)
        engine.delete_sources(STAGING_SONGS, ["a.json", "c'.json", "missing.json"])
        assert engine.query('SELECT "source_file" FROM "staging_songs"') == [("b.json",)]


def test_a_failed_copy_names_its_first_rejected_line(target: str) -> None:
    """The COPY reaches the server through the driver; PostgreSQL refuses it as Redshift would
    refuse a bad line, and the load-error view (a table here) is read after the rollback."""
    with warehouse(target, iam_role=ROLE, region="us-west-2") as engine:
        engine.execute(PostgresWarehouse.dialect.create_table_sql(STAGING_SONGS))
        engine.execute(
            "CREATE TABLE sys_load_error_detail (query_id BIGINT, session_id INTEGER, "
            "file_name TEXT, line_number BIGINT, column_name TEXT, error_message TEXT)"
        )
        ((pid,),) = engine.query("SELECT pg_backend_pid()")
        engine.execute(
            "INSERT INTO sys_load_error_detail VALUES (%s, %s, %s, %s, %s, %s), "
            "(%s, %s, %s, %s, %s, %s)",
            [
                *(1, pid, "s3://b/song_data/A/x.json  ", 17, "duration  ", "Invalid digit  "),
                *(1, pid, "s3://b/song_data/A/y.json", 18, "year", "Overflow"),
            ],
        )
        with pytest.raises(RecordError) as raised, engine.transaction():
            engine.stage_from_s3("songs", "s3://b/song_data", max_errors=0)
        assert str(raised.value) == (
            "s3://b/song_data/A/x.json line 17: column duration: Invalid digit "
            "(and 1 more rejected lines)"
        )
        engine.execute("DELETE FROM sys_load_error_detail")
        with pytest.raises(WarehouseError) as plain, engine.transaction():
            engine.stage_from_s3("songs", "s3://b/song_data", max_errors=0)
        assert 'refused \'COPY "staging_songs"' in str(plain.value)  # nothing recorded


def test_driver_errors_name_the_endpoint_and_never_the_password(
    target: str, shim: RedshiftShim, postgres_database: str
) -> None:
    with warehouse(target) as engine:
        with pytest.raises(WarehouseError) as refused:
            engine.query("SELECT * FROM nope")
        endpoint = str(engine.endpoint)
    assert str(refused.value) == (
        f"Redshift at {endpoint} refused 'SELECT * FROM nope': relation \"nope\" does not exist "
        "(42P01)"
    )
    assert SECRET not in repr(engine)

    elsewhere = target.replace(urlsplit(postgres_database).path, "/no_such_db")
    with pytest.raises(WarehouseError) as database:
        warehouse(elsewhere)
    assert str(database.value) == (
        f"Redshift at 127.0.0.1:{shim.port}/no_such_db cannot connect as postgres: database "
        '"no_such_db" does not exist (3D000): check the database name (the target\'s path, '
        "or [CLUSTER] DB_NAME)"
    )
    closed = target.replace(f":{shim.port}/", ":1/")
    with pytest.raises(WarehouseError) as network:
        warehouse(closed)
    assert str(network.value).startswith(
        f"Redshift at 127.0.0.1:1/{urlsplit(postgres_database).path.strip('/')} cannot connect "
        "as postgres: communication error, ConnectionRefusedError"
    )
    assert "check the host and port ([CLUSTER] HOST and DB_PORT)" in str(network.value)
    with pytest.raises(WarehouseError) as plain_server:  # TLS by default; this one has none
        warehouse(target.removesuffix("?sslmode=disable"))
    assert "Server refuses SSL" in str(plain_server.value)
    for error in (refused, database, network, plain_server):
        assert SECRET not in str(error.value)
    with pytest.raises(ConfigError, match=r"no password for postgres at .*SPARKIFY_DB_PASSWORD"):
        connect(target, redshift=RedshiftOptions())


def test_targets_and_connection_arguments() -> None:
    endpoint = Endpoint.from_target(
        "redshift://dwhuser@dwhcluster.abc123.us-west-2.redshift.amazonaws.com/dwh"
    )
    assert (endpoint.port, endpoint.database, endpoint.sslmode) == (5439, "dwh", "verify-full")
    arguments = connect_arguments(endpoint, RedshiftOptions(password=SECRET))
    assert (arguments["ssl"], arguments["sslmode"], arguments["password"]) == (
        True,
        "verify-full",
        SECRET,
    )
    iam = connect_arguments(endpoint, RedshiftOptions(password=SECRET, iam=True, region="eu-1"))
    assert "password" not in iam and "user" not in iam
    assert (iam["iam"], iam["cluster_identifier"], iam["db_user"]) == (
        True,
        "dwhcluster",
        "dwhuser",
    )
    assert Endpoint.from_target("redshift://u@h:5440/d?sslmode=require").sslmode == "verify-ca"
    for bad, fragment in (
        ("redshift://u@h/d?sslmode=prefer", "sslmode=prefer: use verify-full"),
        ("redshift://u@h/d?iam=true", "unknown parameters iam"),
        ("redshift://h:5439/d", "needs a user"),
        ("redshift://u@h:5439", "needs a host and a database"),
        ("redshift://u:pw@h:x/d", "invalid port"),
    ):
        with pytest.raises(ConfigError, match=fragment) as raised:
            Endpoint.from_target(bad)
        assert "pw" not in str(raised.value)
    local = Endpoint.from_target("redshift://u@127.0.0.1/d?sslmode=disable")
    with pytest.raises(ConfigError, match="needs TLS"):
        connect_arguments(local, RedshiftOptions(iam=True, cluster_identifier="c"))
    with pytest.raises(ConfigError, match="needs the cluster identifier"):
        connect_arguments(
            Endpoint.from_target("redshift://u@127.0.0.1/d"), RedshiftOptions(iam=True)
        )


# -- TLS and IAM authentication --------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA and a certificate for 127.0.0.1 it signed: ca.pem, server.pem/.key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sparkify test CA")])

    def certificate(
        subject: x509.Name, public: ec.EllipticCurvePublicKey
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=2))
        )

    ca = (
        certificate(ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        certificate(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), key.public_key()
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder


@pytest.fixture(scope="module")
def tls_shim(postgres_server: str, certificates: Path) -> Iterator[RedshiftShim]:
    """The cluster stand-in with TLS, as a cluster answers: certificate for 127.0.0.1."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "server.pem", certificates / "server.key")
    with RedshiftShim(upstream(postgres_server), tls=context) as running:
        yield running


@pytest.fixture
def tls_target(postgres_database: str, tls_shim: RedshiftShim) -> str:
    database = urlsplit(postgres_database).path.strip("/")
    return f"redshift://postgres@127.0.0.1:{tls_shim.port}/{database}"


def test_tls_is_on_by_default_and_the_certificate_is_checked(
    tls_target: str, certificates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(WarehouseError) as untrusted:  # signed by a CA the driver does not know
        warehouse(tls_target)
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted.value)
    assert "check that the endpoint is a Redshift cluster, or set sslmode" in str(untrusted.value)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates / "ca.pem"))  # OpenSSL's trust store
    with warehouse(tls_target) as engine:
        assert engine.endpoint.sslmode == "verify-full"
        assert engine.query("SELECT current_user") == [("postgres",)]


def test_iam_authentication_stores_no_password(
    aws: str,
    tls_target: str,
    postgres_database: str,
    certificates: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The resource asks Redshift (moto) for temporary credentials of the target's user through
    the AWS chain, and the driver logs in with them over TLS."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates / "ca.pem"))
    boto3.client("redshift").create_cluster(
        ClusterIdentifier="dwhcluster",
        ClusterType="single-node",
        NodeType="dc2.large",
        MasterUsername="dwhuser",
        MasterUserPassword="Passw0rd",
    )
    with psycopg.connect(postgres_database, autocommit=True) as admin:
        admin.execute('DROP ROLE IF EXISTS "IAM:dwhuser"')
        admin.execute('CREATE ROLE "IAM:dwhuser" LOGIN')  # who GetClusterCredentials names
    cfg = tmp_path / "dwh.cfg"
    cfg.write_text("[CLUSTER]\nIAM=true\n\n[DWH]\nDWH_CLUSTER_IDENTIFIER=dwhCluster\n")
    monkeypatch.delenv("SPARKIFY_DB_PASSWORD", raising=False)
    resource = WarehouseResource(
        target=tls_target.replace("postgres@", "dwhuser@"), config=str(cfg)
    )
    with resource.connect() as engine:
        assert isinstance(engine, RedshiftWarehouse)
        assert engine.options.iam and engine.options.password is None
        assert engine.query("SELECT current_user") == [("IAM:dwhuser",)]

    monkeypatch.setenv("SPARKIFY_CLUSTER_IDENTIFIER", "othercluster")
    with pytest.raises(WarehouseError) as missing, resource.connect():
        pass
    assert str(missing.value).startswith(f"Redshift at 127.0.0.1:{urlsplit(tls_target).port}/")
    assert (
        "cannot connect as IAM user dwhuser: IAM authentication failed: Cluster othercluster"
        in str(missing.value)
    )

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(WarehouseError) as anonymous, resource.connect():
        pass
    assert "IAM authentication failed: Unable to locate credentials" in str(anonymous.value)
    assert str(anonymous.value).endswith(
        "check the cluster identifier and region, and that AWS credentials (aws configure, "
        "AWS_PROFILE, an instance role) allow redshift:GetClusterCredentials"
    )


@pytest.mark.usefixtures("aws_environment")
def test_a_day_is_staged_by_a_copy_of_that_day_s_logs_through_the_driver(target: str) -> None:
    """The driver path of a day's staging, on the suite's PostgreSQL (which cannot run COPY from
    S3): the day's logs are listed on S3, what staging held of the day goes, each of its logs is
    copied by its own URI, and a failed COPY changes nothing."""
    s3 = s3_bucket()
    prefix = f"s3://{BUCKET}/days-{uuid.uuid4().hex[:8]}/log_data"
    for day in ("2018-11-01", "2018-11-02"):
        key = f"{prefix.removeprefix(f's3://{BUCKET}/')}/2018/11/{day}-events.json"
        s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"ts": 1541105830796}')
    sent: list[str] = []
    with warehouse(target, iam_role=ROLE, log_jsonpath="s3://b/paths.json") as engine:
        for table in (STAGING_EVENTS, LOG_FILES, USERS_PENDING):
            engine.execute(PostgresWarehouse.dialect.create_table_sql(table))
        engine.execute(
            "INSERT INTO log_files VALUES (%s, %s)",
            [f"{prefix}/2018/11/2018-11-02-events.json", "2018-11-02"],
        )
        execute = engine.execute

        def recorded(sql: str, params: Any = ()) -> None:
            sent.append(sql)
            execute(sql, params)

        engine.execute = recorded  # type: ignore[method-assign]
        with (
            pytest.raises(WarehouseError, match='refused \'COPY "staging_events"'),
            engine.transaction(),
        ):
            engine.stage_days(prefix, Days("2018-11-02", "2018-11-02"))
        (copy,) = [sql for sql in sent if sql.startswith("COPY")]
        assert f"FROM '{prefix}/2018/11/2018-11-02-events.json'" in copy  # that day's log only
        assert sent[0] == "BEGIN" and sent[1].startswith('INSERT INTO "users_pending"')
        assert [sql.split(" WHERE")[0] for sql in sent[2:4]] == [
            'DELETE FROM "staging_events"',
            'DELETE FROM "log_files"',
        ]
        assert engine.query("SELECT log_day FROM log_files") == [("2018-11-02",)]  # rolled back
