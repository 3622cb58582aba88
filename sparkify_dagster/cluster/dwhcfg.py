"""The classic ``dwh.cfg`` of the Redshift cluster: validated up front, written back in place.

Reading checks every value the cluster steps use and reports all problems at once, each naming
the ``[SECTION] KEY`` (or ``$DWH_…``) and the fix. Each ``[DWH] DWH_*`` key may also come from an
environment variable of the same name, which wins over the file. Writing back (``[CLUSTER]
HOST``, ``[IAM_ROLE] ARN``) changes only those values: comments, order, spacing, quoting and line
endings of everything else stay byte-for-byte as they were.

>>> cfg = load_cluster_config("dwh.cfg")  # doctest: +SKIP
>>> cfg.identifier, cfg.node_type, cfg.num_nodes  # doctest: +SKIP
('dwhcluster', 'dc2.large', 4)
"""

from __future__ import annotations

import configparser
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sparkify_dagster.core import settings
from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster.core.settings import config_value, read_config

DEFAULT_PORT = 5439

# Node types Redshift offers for new provisioned clusters.
NODE_TYPES = (
    "dc2.large",
    "dc2.8xlarge",
    "ra3.large",
    "ra3.xlplus",
    "ra3.4xlarge",
    "ra3.16xlarge",
)
_RETIRED_NODE_TYPES = ("ds2.xlarge", "ds2.8xlarge", "dc1.large", "dc1.8xlarge")
CLUSTER_TYPES = ("single-node", "multi-node")
MAX_NODES = 128

_DB_NAME = re.compile(r"[a-z_][a-z0-9_$]{0,63}")
_DB_USER = re.compile(r"[a-z_][a-z0-9_$]{0,127}", re.IGNORECASE)
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_PASSWORD_FORBIDDEN = set("'\"\\/@ ")


@dataclass(frozen=True)
class ClusterConfig:
    """Everything the cluster steps need, checked. Secrets never appear in ``repr``."""

    path: Path
    identifier: str
    cluster_type: str
    num_nodes: int
    node_type: str
    db_name: str
    db_user: str
    db_password: str = field(repr=False)
    port: int
    role_name: str
    allowed_cidr: str | None = None
    region: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)

    @property
    def keys_in_file(self) -> bool:
        """Whether ``[AWS] KEY`` and ``SECRET`` hold credentials (the chain is preferred)."""
        return bool(self.access_key and self.secret_key)


def load_cluster_config(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> ClusterConfig:
    """Read and check the cluster settings of a classic ``dwh.cfg``; a non-empty ``$DWH_*``
    variable in ``environ`` (default: the process environment) replaces the file's value.

    Raises :class:`ConfigError` listing every bad or missing value, each with its fix.
    """
    environ = settings.environ() if environ is None else environ
    overrides = {k: v.strip() for k, v in environ.items() if k.startswith("DWH_") and v.strip()}
    if Path(path).is_file():
        cfg = read_config(path)
    elif overrides:  # everything may come from the environment
        cfg = configparser.ConfigParser(interpolation=None)
    else:
        raise ConfigError(
            f"config file {path} does not exist: set SPARKIFY_CONFIG to its path, or copy "
            "dwh.cfg.example to dwh.cfg and fill it in (each DWH_* key may also be set in the "
            "environment)"
        )
    problems: list[str] = []

    def name(key: str) -> str:
        """Where a ``[DWH]`` value came from, as a message names it."""
        return f"${key}" if key in overrides else f"[DWH] {key}"

    def value(section: str, key: str) -> str | None:
        if section == "DWH" and key in overrides:
            return _unquoted(overrides[key])
        return config_value(cfg, section, key)

    def get(section: str, key: str, default: str | None = None) -> str:
        found = value(section, key)
        if found is None:
            if default is not None:
                return default
            also = f" or ${key}" if section == "DWH" else ""
            problems.append(f"[{section}] {key} is missing or empty: set it (in {path}{also})")
            return ""
        return found

    raw_identifier = get("DWH", "DWH_CLUSTER_IDENTIFIER")
    identifier = raw_identifier.lower()  # Redshift stores identifiers in lower case
    if raw_identifier and not valid_identifier(identifier):
        problems.append(
            f"{name('DWH_CLUSTER_IDENTIFIER')} is {raw_identifier!r}: use 1-63 letters, digits or "
            "hyphens, starting with a letter, without a trailing or double hyphen"
        )
    cluster_type = get("DWH", "DWH_CLUSTER_TYPE").lower()
    if cluster_type and cluster_type not in CLUSTER_TYPES:
        problems.append(
            f"{name('DWH_CLUSTER_TYPE')} is {cluster_type!r}: use single-node or multi-node"
        )
    num_nodes = _int(get("DWH", "DWH_NUM_NODES", "1"), name("DWH_NUM_NODES"), problems)
    if cluster_type == "multi-node" and num_nodes is not None and not 2 <= num_nodes <= MAX_NODES:
        problems.append(
            f"{name('DWH_NUM_NODES')} is {num_nodes}: a multi-node cluster needs 2 to {MAX_NODES} "
            "nodes (or set DWH_CLUSTER_TYPE=single-node)"
        )
    if cluster_type == "single-node" and num_nodes is not None and num_nodes != 1:
        problems.append(
            f"{name('DWH_NUM_NODES')} is {num_nodes}: a single-node cluster has 1 node "
            "(set DWH_NUM_NODES=1, or DWH_CLUSTER_TYPE=multi-node)"
        )
    node_type = get("DWH", "DWH_NODE_TYPE").lower()
    if node_type in _RETIRED_NODE_TYPES:
        problems.append(
            f"{name('DWH_NODE_TYPE')} is {node_type!r}, which Redshift has retired: use dc2.large "
            "or ra3.xlplus"
        )
    elif node_type and node_type not in NODE_TYPES:
        problems.append(
            f"{name('DWH_NODE_TYPE')} is {node_type!r}: use one of {', '.join(NODE_TYPES)}"
        )
    db_name = get("DWH", "DWH_DB")
    if db_name and not _DB_NAME.fullmatch(db_name):
        problems.append(
            f"{name('DWH_DB')} is {db_name!r}: use 1-64 lower-case letters, digits, _ or $, "
            "starting with a letter or _"
        )
    db_user = get("DWH", "DWH_DB_USER")
    if db_user and (not _DB_USER.fullmatch(db_user) or db_user.lower() == "public"):
        problems.append(
            f"{name('DWH_DB_USER')} is {db_user!r}: use 1-128 letters, digits, _ or $, starting "
            "with a letter or _ (not PUBLIC)"
        )
    db_password = get("DWH", "DWH_DB_PASSWORD")
    if db_password:
        problems.extend(
            f"{name('DWH_DB_PASSWORD')} {rule}" for rule in password_problems(db_password)
        )
    port = _int(get("DWH", "DWH_PORT", str(DEFAULT_PORT)), name("DWH_PORT"), problems)
    if port is not None and not 1150 <= port <= 65535:
        problems.append(
            f"{name('DWH_PORT')} is {port}: Redshift listens on a port from 1150 to 65535"
        )
    role_name = get("DWH", "DWH_IAM_ROLE_NAME")
    if role_name and not _ROLE_NAME.fullmatch(role_name):
        problems.append(
            f"{name('DWH_IAM_ROLE_NAME')} is {role_name!r}: use 1-64 letters, digits or +=,.@_-"
        )
    allowed_cidr = value("DWH", "DWH_ALLOWED_CIDR")
    if allowed_cidr is not None:
        try:
            allowed_cidr = str(ipaddress.ip_network(allowed_cidr, strict=True))
        except ValueError as exc:
            problems.append(
                f"{name('DWH_ALLOWED_CIDR')} is {allowed_cidr!r} ({exc}): give a network such as "
                "203.0.113.7/32 (one address) or 203.0.113.0/24"
            )
    access_key = config_value(cfg, "AWS", "KEY")
    secret_key = config_value(cfg, "AWS", "SECRET")
    if bool(access_key) != bool(secret_key):
        given, empty = ("KEY", "SECRET") if access_key else ("SECRET", "KEY")
        problems.append(
            f"[AWS] {given} is set but {empty} is empty: set both, or better empty both and use "
            "the standard AWS credential chain (aws configure, AWS_PROFILE)"
        )
    if problems:
        raise ConfigError(
            f"{path} has {len(problems)} problem{'s' if len(problems) > 1 else ''}:\n  "
            + "\n  ".join(problems)
        )
    return ClusterConfig(
        path=Path(path),
        identifier=identifier,
        cluster_type=cluster_type,
        num_nodes=num_nodes or 1,
        node_type=node_type,
        db_name=db_name,
        db_user=db_user,
        db_password=db_password,
        port=port or DEFAULT_PORT,
        role_name=role_name,
        allowed_cidr=allowed_cidr,
        region=config_value(cfg, "AWS", "REGION"),
        access_key=access_key,
        secret_key=secret_key,
    )


def _unquoted(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def valid_identifier(value: str, max_length: int = 63) -> bool:
    """Redshift's rule for cluster and snapshot identifiers.

    >>> valid_identifier("dwhcluster"), valid_identifier("dwh--cluster"), valid_identifier("1dwh")
    (True, False, False)
    """
    return (
        0 < len(value) <= max_length
        and re.fullmatch(r"[a-z][a-z0-9-]*", value) is not None
        and not value.endswith("-")
        and "--" not in value
    )


def password_problems(password: str) -> list[str]:
    """What breaks Redshift's master password rules; never repeats the password itself.

    >>> password_problems("Passw0rd")
    []
    >>> password_problems("short")  # doctest: +NORMALIZE_WHITESPACE
    ['has 5 characters: use 8 to 64', 'has no upper-case letter: add one',
     'has no digit: add one']
    """
    problems = []
    if not 8 <= len(password) <= 64:
        problems.append(f"has {len(password)} characters: use 8 to 64")
    if not any(c.isupper() for c in password):
        problems.append("has no upper-case letter: add one")
    if not any(c.islower() for c in password):
        problems.append("has no lower-case letter: add one")
    if not any(c.isdigit() for c in password):
        problems.append("has no digit: add one")
    if any(c in _PASSWORD_FORBIDDEN or not 33 <= ord(c) <= 126 for c in password):
        problems.append(
            "has a character Redshift forbids: use printable ASCII without ' \" \\ / @ or space"
        )
    return problems


def _int(value: str, name: str, problems: list[str]) -> int | None:
    try:
        return int(value)
    except ValueError:
        if value:
            problems.append(f"{name} is {value!r}: give a whole number")
        return None


_SECTION = re.compile(r"\s*\[(?P<name>[^\]]+)\]")


def update_config(path: str | os.PathLike[str], values: Mapping[tuple[str, str], str]) -> bool:
    """Set ``values`` (``(section, key) -> value``) in the INI file at ``path``, in place.

    Only the value of each given key changes; its key, delimiter, spacing and quoting style
    (``HOST=''`` stays single-quoted) are kept, as is every other byte of the file. A missing key
    is added after the last entry of its section, a missing section at the end. Returns whether
    the file changed. A missing file is created with just those values.
    """
    path = Path(path)
    original = path.read_bytes().decode("utf-8") if path.exists() else ""
    text = original
    for (section, key), value in values.items():
        text = _set_value(text, section, key, value)
    if text == original:
        return False
    try:
        configparser.ConfigParser(interpolation=None).read_string(text)
    except configparser.Error as exc:  # pragma: no cover - the edit keeps the file valid
        raise ConfigError(f"could not update {path}: {exc}") from None
    path.write_bytes(text.encode("utf-8"))
    return True


def _set_value(text: str, section: str, key: str, value: str) -> str:
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    key_line = re.compile(
        rf"(?P<head>\s*{re.escape(key)}\s*[=:]\s*)(?P<value>.*?)(?P<tail>\s*)$", re.IGNORECASE
    )
    in_section = False
    last_entry: int | None = None
    for index, line in enumerate(lines):
        header = _SECTION.match(line)
        if header:
            if in_section:
                break
            in_section = header["name"].strip() == section
            if in_section:
                last_entry = index
            continue
        if not in_section:
            continue
        if line.strip() and not line.lstrip().startswith(("#", ";")):
            last_entry = index
        body = line.rstrip("\r\n")
        found = key_line.match(body)
        if found and not line[:1].isspace():
            lines[index] = (
                found["head"]
                + _quoted_like(found["value"], value)
                + found["tail"]
                + line[len(body) :]
            )
            return "".join(lines)
    if last_entry is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        prefix = newline if lines and lines[-1].strip() else ""
        return "".join(lines) + f"{prefix}[{section}]{newline}{key}={value}{newline}"
    if not lines[last_entry].endswith("\n"):
        lines[last_entry] += newline
    lines.insert(last_entry + 1, f"{key}={value}{newline}")
    return "".join(lines)


def _quoted_like(old: str, new: str) -> str:
    if len(old) >= 2 and old[0] == old[-1] and old[0] in "'\"":
        return f"{old[0]}{new}{old[0]}"
    return new
