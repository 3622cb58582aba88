"""AWS failures and credentials in words, for every part of sparkify that calls AWS.

:func:`translate` is the one place where a botocore or AWS error becomes a
:class:`SparkifyError` that names the bad thing and the fix. It sorts the error into a kind
(``denied``, ``parameter``, ``unreachable``, …); each caller brings its :class:`Wording`, the
message and error class per kind, because the cluster steps speak of API actions and dwh.cfg
while the S3 reader speaks of objects and ``SPARKIFY_*`` settings. :func:`credentials_source`
says where botocore found the credentials, never what they are.

>>> credentials_source("shared-credentials-file", "etl")
"the shared credentials file, profile 'etl'"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sparkify_dagster.core.errors import AwsError, SparkifyError

# botocore's names for where credentials came from ("explicit": keys handed to the client).
CREDENTIAL_SOURCES: Mapping[str, str] = {
    "explicit": "[AWS] KEY and SECRET in dwh.cfg",
    "env": "the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
    "shared-credentials-file": "the shared credentials file, profile {profile!r}",
    "config-file": "the AWS config file, profile {profile!r}",
    "assume-role": "a role assumed by profile {profile!r}",
    "assume-role-with-web-identity": "a web identity role (AWS_ROLE_ARN)",
    "sso": "AWS SSO (IAM Identity Center), profile {profile!r}",
    "custom-process": "a credential_process of profile {profile!r}",
    "container-role": "the container's IAM role",
    "iam-role": "the instance's IAM role",
}

# AWS error codes by kind; a code in none of them is the kind "refused".
_CODES: Mapping[str, frozenset[str]] = {
    "credentials": frozenset(
        {
            "InvalidClientTokenId",
            "UnrecognizedClientException",
            "AuthFailure",
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId",
            "ExpiredToken",
            "ExpiredTokenException",
            "RequestExpired",
            "InvalidToken",
        }
    ),
    "denied": frozenset(
        {
            "AccessDenied",
            "AccessDeniedException",
            "UnauthorizedOperation",
            "AccessDeniedFault",
            "AllAccessDisabled",
            "403",
        }
    ),
    "cluster-not-found": frozenset({"ClusterNotFound"}),
    "parameter": frozenset(
        {
            "InvalidParameterValue",
            "InvalidParameterCombination",
            "InvalidParameter",
            "ValidationError",
            "MalformedPolicyDocument",
            "UnsupportedOperation",
            "InvalidClusterType",
            "ClusterQuotaExceeded",
            "NumberOfNodesQuotaExceeded",
            "NumberOfNodesPerClusterLimitExceeded",
            "InsufficientClusterCapacity",
            "InvalidVPCNetworkStateFault",
            "ClusterSnapshotAlreadyExists",
            "InvalidClusterState",
        }
    ),
    "missing-bucket": frozenset({"NoSuchBucket"}),
    "vanished": frozenset({"NoSuchKey", "404"}),
    "changed": frozenset({"PreconditionFailed", "412"}),
}


def credentials_source(
    method: str | None,
    profile: str | None = None,
    *,
    sources: Mapping[str, str] = CREDENTIAL_SOURCES,
) -> str:
    """Where botocore's credentials came from (its ``credentials.method``), in words.

    ``sources`` lets a caller keep its own words for some methods.
    """
    if method is None:
        return "nowhere (no credentials found)"
    template = sources.get(method, "the AWS credential chain ({method})")
    return template.format(profile=profile or "default", method=method)


@dataclass(frozen=True)
class Wording:
    """What a caller says about each kind of AWS failure.

    ``messages`` maps a kind to a template; a kind without one falls back to ``refused`` (AWS
    answered with an error code) or ``failed`` (no answer). ``errors`` maps a kind to the
    :class:`SparkifyError` subclass raised (else ``error``). Templates may use ``{what}`` and any
    other field the caller passes, ``{code}``, ``{message}``, ``{action}``, ``{attempts}``
    (AWS answered), ``{error}`` (the exception in words), ``{profile}`` and ``{reason}``.
    """

    messages: Mapping[str, str]
    errors: Mapping[str, type[SparkifyError]] = field(default_factory=dict)
    error: type[SparkifyError] = AwsError


class _Fields(dict[str, Any]):
    """Template fields; a callable value is computed only when a template uses it."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return value() if callable(value) else value


def translate(
    exc: Exception, wording: Wording, *, service: str | None = None, **fields: Any
) -> SparkifyError:
    """``exc`` (a botocore or AWS error) as the :class:`SparkifyError` ``wording`` gives its kind.

    ``service`` prefixes the action (``iam:CreateRole``); ``fields`` fill the templates, a
    callable one only when needed (e.g. ``credentials=aws.credentials_source``).
    """
    if isinstance(exc, SparkifyError):
        return exc
    kind, values = _classify(exc, service)
    if kind not in wording.messages:
        kind = "refused" if "code" in values else "failed"
    message = wording.messages[kind].format_map(_Fields({**fields, **values}))
    error = wording.errors.get(kind, wording.error)
    if issubclass(error, AwsError):
        return error(message, code=values.get("code"), action=values.get("action"))
    return error(message)


def _classify(exc: Exception, service: str | None) -> tuple[str, dict[str, Any]]:
    """The kind of failure ``exc`` is, and the values its message may name."""
    from botocore import exceptions as boto

    values: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, boto.ProfileNotFound):
        return "profile", {**values, "profile": exc.kwargs.get("profile")}
    if isinstance(exc, boto.NoRegionError):
        return "region", values
    if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
        return "no-credentials", values
    if isinstance(exc, boto.EndpointConnectionError | boto.ConnectTimeoutError):
        return "unreachable", values
    if isinstance(exc, boto.WaiterError):
        response = exc.last_response or {}
        if "Error" not in response:
            return "waiter", {**values, "reason": exc.kwargs.get("reason")}
        exc = boto.ClientError(response, exc.kwargs.get("name", "Waiter"))
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        tries = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
        answered = {
            "code": code,
            "message": str(error.get("Message", "")).strip() or code,
            "action": f"{service}:{exc.operation_name}" if service else exc.operation_name,
            "attempts": f"{tries} attempt{'s' if tries > 1 else ''}",
        }
        kind = next((kind for kind, codes in _CODES.items() if code in codes), "refused")
        return kind, {**values, **answered}
    if not isinstance(exc, boto.BotoCoreError):
        values["error"] = f"{type(exc).__name__}: {exc}"
    return "failed", values
