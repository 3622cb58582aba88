"""The classic dwh.cfg: every cluster value checked up front, HOST/ARN written back in place."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparkify_dagster.cluster.dwhcfg import load_cluster_config, password_problems, update_config
from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster_tests.helpers import CLASSIC


def write(tmp_path: Path, text: str = CLASSIC, **dwh: str) -> Path:
    for key, value in dwh.items():
        lines = [line for line in text.splitlines() if not line.startswith(f"{key}=")]
        at = lines.index("[DWH]") + 1
        text = "\n".join([*lines[:at], f"{key}={value}", *lines[at:]]) + "\n"
    path = tmp_path / "dwh.cfg"
    path.write_text(text)
    return path


def test_a_classic_file_loads_unchanged(tmp_path: Path) -> None:
    cfg = load_cluster_config(write(tmp_path))
    assert cfg.identifier == "dwhcluster"  # Redshift keeps identifiers in lower case
    assert (cfg.cluster_type, cfg.num_nodes, cfg.node_type) == ("multi-node", 4, "dc2.large")
    assert (cfg.db_name, cfg.db_user, cfg.db_password) == ("dwh", "dwhuser", "Passw0rd")
    assert (cfg.port, cfg.role_name, cfg.region) == (5439, "dwhRole", "us-west-2")
    assert cfg.allowed_cidr == "203.0.113.7/32"
    assert not cfg.keys_in_file
    assert "Passw0rd" not in repr(cfg)


def test_keys_in_the_file_are_never_shown(tmp_path: Path) -> None:
    text = CLASSIC.replace("KEY=\n", "KEY=AKIAEXAMPLEKEY\n").replace(
        "SECRET=\n", "SECRET='wJalrXUtnFEMIEXAMPLE'\n"
    )
    cfg = load_cluster_config(write(tmp_path, text))
    assert cfg.keys_in_file and cfg.secret_key == "wJalrXUtnFEMIEXAMPLE"
    assert "AKIAEXAMPLEKEY" not in repr(cfg) and "wJalr" not in repr(cfg)


def test_a_key_without_its_secret_is_named(tmp_path: Path) -> None:
    text = CLASSIC.replace("KEY=\n", "KEY=AKIAEXAMPLEKEY\n")
    with pytest.raises(ConfigError, match=r"\[AWS\] KEY is set but SECRET is empty: set both"):
        load_cluster_config(write(tmp_path, text))


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("DWH_NUM_NODES", "1", "DWH_NUM_NODES is 1: a multi-node cluster needs 2 to 128"),
        ("DWH_NUM_NODES", "four", "DWH_NUM_NODES is 'four': give a whole number"),
        ("DWH_CLUSTER_TYPE", "triple", "DWH_CLUSTER_TYPE is 'triple': use single-node or"),
        ("DWH_NODE_TYPE", "dc2.huge", "DWH_NODE_TYPE is 'dc2.huge': use one of dc2.large"),
        ("DWH_NODE_TYPE", "ds2.xlarge", "which Redshift has retired: use dc2.large"),
        ("DWH_CLUSTER_IDENTIFIER", "1cluster", "DWH_CLUSTER_IDENTIFIER is '1cluster': use 1-63"),
        ("DWH_CLUSTER_IDENTIFIER", "dwh--x", "without a trailing or double hyphen"),
        ("DWH_PORT", "80", "DWH_PORT is 80: Redshift listens on a port from 1150 to 65535"),
        ("DWH_DB", "Dwh-1", "DWH_DB is 'Dwh-1': use 1-64 lower-case letters"),
        ("DWH_DB_USER", "public", "DWH_DB_USER is 'public'"),
        ("DWH_IAM_ROLE_NAME", "no spaces", "DWH_IAM_ROLE_NAME is 'no spaces'"),
        ("DWH_ALLOWED_CIDR", "203.0.113.7/24", "has host bits set): give a network such as"),
        ("DWH_ALLOWED_CIDR", "my-office", "DWH_ALLOWED_CIDR is 'my-office'"),
        ("DWH_DB_PASSWORD", "", "[DWH] DWH_DB_PASSWORD is missing or empty: set it"),
    ],
)
def test_each_bad_value_is_named_with_its_fix(
    tmp_path: Path, key: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_cluster_config(write(tmp_path, **{key: value}))
    assert expected in str(raised.value)
    assert f"[DWH] {key}" in str(raised.value)


def test_a_single_node_cluster_has_one_node(tmp_path: Path) -> None:
    path = write(tmp_path, DWH_CLUSTER_TYPE="single-node")
    with pytest.raises(ConfigError, match="DWH_NUM_NODES is 4: a single-node cluster has 1 node"):
        load_cluster_config(path)
    cfg = load_cluster_config(write(tmp_path, DWH_CLUSTER_TYPE="single-node", DWH_NUM_NODES="1"))
    assert (cfg.cluster_type, cfg.num_nodes) == ("single-node", 1)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, DWH_NUM_NODES="1", DWH_NODE_TYPE="x1.tiny", DWH_DB_PASSWORD="s3cret")
    with pytest.raises(ConfigError) as raised:
        load_cluster_config(path)
    message = str(raised.value)
    assert message.startswith(f"{path} has 4 problems:")
    for fragment in ("DWH_NUM_NODES", "DWH_NODE_TYPE", "6 characters", "upper-case letter"):
        assert fragment in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt", "has 5 characters: use 8 to 64"),
        ("P" * 60 + "ass0rd", "has 66 characters: use 8 to 64"),
        ("passw0rd", "no upper-case letter"),
        ("PASSW0RD", "no lower-case letter"),
        ("Password", "no digit"),
        ("Pass w0rd", "a character Redshift forbids"),
        ("Pass@w0rd", "a character Redshift forbids"),
        ("Pass'w0rd", "a character Redshift forbids"),
        ('Pass"w0rd', "a character Redshift forbids"),
        ("Pass/w0rd", "a character Redshift forbids"),
        ("Pass\\w0rd", "a character Redshift forbids"),
    ],
)
def test_redshift_password_rules(password: str, problem: str) -> None:
    problems = password_problems(password)
    assert any(problem in text for text in problems)


@given(st.text(min_size=8, max_size=64))
def test_a_password_is_never_repeated_in_its_problems(password: str) -> None:
    for problem in password_problems(password):
        assert password not in problem


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_cluster_config(tmp_path / "nope.cfg")


# --- writing HOST and ARN back ----------------------------------------------------------------


def test_only_host_and_arn_change(tmp_path: Path) -> None:
    path = write(tmp_path)
    before = path.read_bytes()
    host = "dwhcluster.abc.us-west-2.redshift.amazonaws.com"
    arn = "arn:aws:iam::123456789012:role/dwhRole"
    assert update_config(path, {("CLUSTER", "HOST"): host, ("IAM_ROLE", "ARN"): arn})
    expected = before.replace(b"HOST=''", f"HOST='{host}'".encode()).replace(
        b"ARN=''", f"ARN='{arn}'".encode()
    )
    assert path.read_bytes() == expected
    assert not update_config(path, {("CLUSTER", "HOST"): host, ("IAM_ROLE", "ARN"): arn})
    assert path.read_bytes() == expected


@pytest.mark.parametrize(
    ("line", "written"),
    [
        ("HOST=''", "HOST='h.example'"),
        ('HOST=""', 'HOST="h.example"'),
        ("HOST=", "HOST=h.example"),
        ("HOST = old.example  ", "HOST = h.example  "),
        ("host: 'old'", "host: 'h.example'"),
    ],
)
def test_the_line_keeps_its_style(tmp_path: Path, line: str, written: str) -> None:
    path = tmp_path / "dwh.cfg"
    path.write_bytes(f"[CLUSTER]\r\n; endpoint\r\n{line}\r\nDB_PORT=5439\r\n".encode())
    update_config(path, {("CLUSTER", "HOST"): "h.example"})
    assert path.read_bytes() == f"[CLUSTER]\r\n; endpoint\r\n{written}\r\nDB_PORT=5439\r\n".encode()


def test_a_missing_key_goes_after_its_section_and_a_missing_section_at_the_end(
    tmp_path: Path,
) -> None:
    path = tmp_path / "dwh.cfg"
    path.write_text("[CLUSTER]\nDB_NAME=dwh\n\n# the bucket\n[S3]\nLOG_DATA=x")
    update_config(path, {("CLUSTER", "HOST"): "h", ("IAM_ROLE", "ARN"): "a"})
    assert path.read_text() == (
        "[CLUSTER]\nDB_NAME=dwh\nHOST=h\n\n# the bucket\n[S3]\nLOG_DATA=x\n\n[IAM_ROLE]\nARN=a\n"
    )


_comment = st.from_regex(r"[#;][ -~]{0,30}", fullmatch=True)
_entry = st.from_regex(r"[A-Z_]{1,10}=[ -~]{0,20}", fullmatch=True).filter(
    lambda line: not line.upper().startswith(("HOST=", "ARN="))
)


@settings(max_examples=50, deadline=None)
@given(
    before=st.lists(st.one_of(_comment, _entry, st.just("")), max_size=6),
    after=st.lists(st.one_of(_comment, _entry, st.just("")), max_size=6),
)
def test_everything_else_is_byte_identical(
    tmp_path_factory: pytest.TempPathFactory, before: list[str], after: list[str]
) -> None:
    head = "\n".join(["[CLUSTER]", *before, "HOST=''", *after])
    text = head + "\n\n[IAM_ROLE]\nARN=''\n"
    path = tmp_path_factory.mktemp("cfg") / "dwh.cfg"
    path.write_text(text)
    try:
        configparser.ConfigParser(interpolation=None).read_string(text)
    except configparser.Error:
        return  # generated duplicate keys: not a file configparser (or a user) would have
    update_config(path, {("CLUSTER", "HOST"): "h", ("IAM_ROLE", "ARN"): "a"})
    assert path.read_text() == text.replace("HOST=''", "HOST='h'").replace("ARN=''", "ARN='a'")


def test_the_committed_example_is_valid() -> None:
    cfg = load_cluster_config(Path(__file__).resolve().parent.parent / "dwh.cfg.example")
    assert cfg.identifier == "dwhcluster" and not cfg.keys_in_file
