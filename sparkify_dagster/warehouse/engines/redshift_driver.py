"""How the Redshift engine reaches a cluster: Amazon's driver, redshift-connector.

A ``redshift://user@host:5439/db`` target names the endpoint; the password comes from
``$SPARKIFY_DB_PASSWORD`` or ``[CLUSTER] DB_PASSWORD`` (:class:`RedshiftOptions`), never from
the URL's history. With IAM authentication (``$SPARKIFY_DB_IAM=true`` or ``[CLUSTER] IAM=true``)
no password is stored anywhere: the driver asks Redshift for temporary credentials of the
target's user (``GetClusterCredentials``), signed by the standard AWS credential chain.

TLS is on unless the target says ``?sslmode=disable``: ``verify-full`` (the default) checks the
cluster's certificate and name, ``verify-ca`` (or ``require``) the certificate only.

Every driver error becomes a :class:`WarehouseError` in one place, :func:`translate`, naming the
endpoint and what to check, never the password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sparkify_dagster.core.errors import ConfigError, WarehouseError
from sparkify_dagster.core.settings import redact
from sparkify_dagster.warehouse.engines.redshift_copy import RedshiftOptions

SCHEME = "redshift://"
DEFAULT_PORT = 5439
CONNECT_TIMEOUT = 15  # seconds to reach the cluster; statements themselves have no limit
SSLMODES = {"verify-full": "verify-full", "verify-ca": "verify-ca", "require": "verify-ca"}
_PROVISIONED_HOST = re.compile(
    r"([a-z][a-z0-9-]*)\.[a-z0-9]+\.[a-z0-9-]+\.redshift\.amazonaws\.com"
)

# What to check, by SQLSTATE of a refused connection.
_CONNECT_HINTS = {
    "3D000": "the database name (the target's path, or [CLUSTER] DB_NAME)",
    "28000": "the user and the password ($SPARKIFY_DB_PASSWORD or [CLUSTER] DB_PASSWORD)",
    "28P01": "the user and the password ($SPARKIFY_DB_PASSWORD or [CLUSTER] DB_PASSWORD)",
}
_NETWORK_HINT = (
    "the host and port ([CLUSTER] HOST and DB_PORT), that the cluster is available (the "
    "redshift_status job), and that its security group lets this address in (DWH_ALLOWED_CIDR)"
)


@dataclass(frozen=True)
class Endpoint:
    """Where a ``redshift://`` target points; no password (that stays in the options)."""

    host: str
    port: int
    database: str
    user: str
    sslmode: str = "verify-full"  # or verify-ca, or disable
    password: str | None = None  # only when the URL carries one; prefer the environment

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"

    def __repr__(self) -> str:
        return f"Endpoint({self.user}@{self}, sslmode={self.sslmode})"

    @classmethod
    def from_target(cls, target: str) -> Endpoint:
        """Parse ``redshift://user@host[:port]/database[?sslmode=…]``.

        >>> str(Endpoint.from_target("redshift://etl@dwh.abc.us-west-2.redshift.amazonaws.com/dev"))
        'dwh.abc.us-west-2.redshift.amazonaws.com:5439/dev'
        """
        shown = redact(target)
        if not target.startswith(SCHEME):
            raise ConfigError(f"target {shown!r} is not a redshift:// URL")
        parts = urlsplit(target)
        database = unquote(parts.path.strip("/"))
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ConfigError(f"target {shown!r} has an invalid port") from None
        if not parts.hostname or not database:
            raise ConfigError(
                f"target {shown!r} needs a host and a database: "
                "redshift://user@cluster.abc123.us-west-2.redshift.amazonaws.com:5439/dev"
            )
        if not parts.username:
            raise ConfigError(f"target {shown!r} needs a user: redshift://dwhuser@…")
        query = parse_qs(parts.query)
        unknown = sorted(set(query) - {"sslmode"})
        if unknown:
            raise ConfigError(
                f"target {shown!r} has unknown parameters {', '.join(unknown)}: only sslmode "
                "is understood; IAM authentication is $SPARKIFY_DB_IAM or [CLUSTER] IAM"
            )
        mode = query.get("sslmode", ["verify-full"])[-1]
        if mode != "disable" and mode not in SSLMODES:
            raise ConfigError(
                f"target {shown!r} has sslmode={mode}: use verify-full (the default), verify-ca "
                "or disable"
            )
        return cls(
            host=parts.hostname,
            port=port,
            database=database,
            user=unquote(parts.username),
            sslmode=SSLMODES.get(mode, mode),
            password=unquote(parts.password) if parts.password else None,
        )


def cluster_identifier(endpoint: Endpoint, options: RedshiftOptions) -> str | None:
    """The cluster IAM authentication asks credentials for: the options', else the one a
    provisioned endpoint's name starts with (``dwhcluster.abc123.us-west-2.redshift…``)."""
    if options.cluster_identifier:
        return options.cluster_identifier
    found = _PROVISIONED_HOST.fullmatch(endpoint.host.lower())
    return found.group(1) if found else None


def connect_arguments(endpoint: Endpoint, options: RedshiftOptions) -> dict[str, Any]:
    """The keyword arguments of :func:`redshift_connector.connect` for ``endpoint``."""
    arguments: dict[str, Any] = {
        "host": endpoint.host,
        "port": endpoint.port,
        "database": endpoint.database,
        "timeout": CONNECT_TIMEOUT,
        "application_name": "sparkify",  # how a DBA tells these sessions apart
    }
    if endpoint.sslmode == "disable":
        arguments["ssl"] = False
    else:
        arguments.update(ssl=True, sslmode=endpoint.sslmode)
    if options.iam:
        if endpoint.sslmode == "disable":
            raise ConfigError(
                f"IAM authentication to {endpoint} needs TLS: remove sslmode=disable from the "
                "target"
            )
        identifier = cluster_identifier(endpoint, options)
        if identifier is None:
            raise ConfigError(
                f"IAM authentication to {endpoint} needs the cluster identifier: set "
                "$SPARKIFY_CLUSTER_IDENTIFIER or [DWH] DWH_CLUSTER_IDENTIFIER in dwh.cfg"
            )
        arguments.update(iam=True, cluster_identifier=identifier, db_user=endpoint.user)
        if options.region:
            arguments["region"] = options.region
        return arguments
    password = endpoint.password or options.password
    if not password:
        raise ConfigError(
            f"no password for {endpoint.user} at {endpoint}: set $SPARKIFY_DB_PASSWORD or "
            "[CLUSTER] DB_PASSWORD in dwh.cfg, or use IAM authentication ($SPARKIFY_DB_IAM=true)"
        )
    arguments.update(user=endpoint.user, password=password)
    return arguments


def translate(
    exc: BaseException, doing: str, endpoint: Endpoint, secret: str | None = None
) -> WarehouseError:
    """``exc`` from the driver (or from AWS during IAM authentication) as a
    :class:`WarehouseError` naming the endpoint and what to check, without ``secret``.

    This is the only place Redshift driver errors become sparkify errors.
    """
    from redshift_connector.error import InterfaceError

    wrapped = [arg for arg in getattr(exc, "args", ()) if isinstance(arg, BaseException)]
    if wrapped and _is_aws_error(wrapped[0]):  # the driver wraps some AWS errors
        exc = wrapped[0]
    code, message = _driver_message(exc)
    connecting = doing.startswith("cannot connect")
    hint = ""
    if _is_aws_error(exc):
        hint = (
            "check the cluster identifier and region, and that AWS credentials (aws configure, "
            "AWS_PROFILE, an instance role) allow redshift:GetClusterCredentials"
        )
        message = f"IAM authentication failed: {message}"
    elif connecting and code in _CONNECT_HINTS:
        hint = f"check {_CONNECT_HINTS[code]}"
    elif connecting and "ssl" in message.lower():
        hint = "check that the endpoint is a Redshift cluster, or set sslmode in the target"
    elif connecting or isinstance(exc, InterfaceError | OSError):
        hint = f"check {_NETWORK_HINT}"
    text = f"Redshift at {endpoint} {doing}: {message}" + (f" ({code})" if code else "")
    text += f": {hint}" if hint else ""
    if secret:
        text = text.replace(secret, "***")
    return WarehouseError(redact(text))


def _driver_message(exc: BaseException) -> tuple[str | None, str]:
    """The server's SQLSTATE and message, or the driver's own words."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], dict):  # an ErrorResponse: {'C': code, 'M': message, …}
        fields = args[0]
        message = str(fields.get("M", "")).strip() or type(exc).__name__
        detail = str(fields.get("D", "")).strip()
        return fields.get("C"), message + (f" ({detail})" if detail else "")
    response = getattr(exc, "response", None)
    if _is_aws_error(exc) and isinstance(response, dict):  # a ClientError: AWS answered
        error = response.get("Error", {})
        return error.get("Code"), str(error.get("Message", "")).strip() or type(exc).__name__
    words = [str(arg) for arg in args if not isinstance(arg, BaseException)]
    causes = [f"{type(arg).__name__}: {arg}" for arg in args if isinstance(arg, BaseException)]
    return None, ", ".join(words + causes) or type(exc).__name__


def _is_aws_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("botocore")
