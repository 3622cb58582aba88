"""AWS calls for the cluster steps: made through botocore, or only recorded in a dry run.

botocore (the core of boto3) finds credentials, region and endpoint through the standard AWS
configuration chain (``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``, ``~/.aws``, instance roles,
``AWS_ENDPOINT_URL``, …); nothing here names an endpoint. Every AWS failure becomes a
:class:`SparkifyError` through :func:`sparkify_dagster.core.aws.translate` in the words of
:data:`WORDING`, with the fix, naming the credentials *source* but never a key.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sparkify_dagster.core.aws import Wording, credentials_source, translate
from sparkify_dagster.core.errors import (
    AwsAccessDeniedError,
    AwsCredentialsError,
    AwsParameterError,
    ClusterNotFoundError,
    ClusterStuckError,
    ConfigError,
    SparkifyError,
)

Progress = Callable[[str], None]

DEFAULT_TIMEOUT = 1800.0  # seconds a step waits for the cluster, at most
DEFAULT_DELAY = 15.0  # seconds between two looks at it

_SECRET_PARAMS = frozenset({"MasterUserPassword"})

# What the cluster steps say about each kind of AWS failure (see core.aws.translate).
WORDING = Wording(
    messages={
        "profile": (
            "AWS profile {profile!r} is not in the AWS configuration: run "
            "`aws configure --profile NAME`, or name another profile"
        ),
        "region": (
            "no AWS region is set: add REGION to the [AWS] section of dwh.cfg, or set AWS_REGION"
        ),
        "no-credentials": (
            "no AWS credentials found: run `aws configure`, set AWS_PROFILE, or set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ),
        "unreachable": (
            "cannot reach AWS ({error}): check the network, the region and AWS_ENDPOINT_URL"
        ),
        "waiter": (
            "waiting stopped: {reason}: look at the cluster's events in the Redshift console"
        ),
        "credentials": (
            "AWS does not accept the credentials from {credentials} ({code}): renew or correct "
            "them, or remove them to use another source of the AWS credential chain"
        ),
        "denied": (
            "the credentials from {credentials} may not call {action} ({code}): grant that "
            "action to the IAM user or role, or use other credentials"
        ),
        "cluster-not-found": (
            "{message} (region {region}): check [DWH] DWH_CLUSTER_IDENTIFIER and [AWS] REGION, "
            "or create it with the provision_redshift job"
        ),
        "parameter": (
            "AWS rejected {action}: {message} ({code}): correct the [DWH] values in dwh.cfg and "
            "run the command again"
        ),
        "refused": "AWS refused {action}: {message} ({code})",
        "failed": "AWS request failed: {error}",
    },
    errors={
        "profile": ConfigError,
        "region": ConfigError,
        "no-credentials": AwsCredentialsError,
        "credentials": AwsCredentialsError,
        "denied": AwsAccessDeniedError,
        "cluster-not-found": ClusterNotFoundError,
        "parameter": AwsParameterError,
    },
)


@dataclass(frozen=True)
class Call:
    """One AWS API call: ``service.operation(params)``, with secrets shown as ``***``."""

    service: str
    operation: str
    params: Mapping[str, Any]
    note: str = ""

    def __str__(self) -> str:
        args = ", ".join(
            f"{name}={'***' if name in _SECRET_PARAMS else value!r}"
            for name, value in self.params.items()
        )
        text = f"{self.service}.{self.operation}({args})"
        return f"{text}  # {self.note}" if self.note else text


@functools.cache
def _data_loader() -> Any:
    """One loader of botocore's service models per process: they are large and never change."""
    from botocore.loaders import create_loader

    return create_loader()


@dataclass
class Aws:
    """Makes AWS calls through one botocore session; with ``dry_run`` only records them.

    In a dry run every read answers ``None`` ("not known"), so callers plan as if they had to
    act; :attr:`calls` then lists what a real run would call. ``profile`` names a profile of
    the AWS configuration; ``client_config`` is a ``botocore.config.Config`` (retries …).
    """

    region: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    profile: str | None = None
    client_config: Any = field(default=None, repr=False)
    dry_run: bool = False
    calls: list[Call] = field(default_factory=list)
    _session: Any = field(default=None, init=False, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def session(self) -> Any:
        """A botocore session: the standard AWS chain finds credentials, region, endpoint."""
        if self._session is None:
            from botocore.session import get_session

            session = get_session()
            session.register_component("data_loader", _data_loader())
            if self.profile:
                session.set_config_variable("profile", self.profile)
            if self.region:
                session.set_config_variable("region", self.region)
            self._session = session
        return self._session

    def client(self, service: str) -> Any:
        if service not in self._clients:
            try:
                self._clients[service] = self.session.create_client(
                    service,
                    aws_access_key_id=self.access_key,
                    aws_secret_access_key=self.secret_key,
                    config=self.client_config,
                )
            except Exception as exc:
                raise self.translate(exc, service) from None
        return self._clients[service]

    @property
    def region_name(self) -> str:
        """The region in use, from ``[AWS] REGION`` or the AWS configuration chain."""
        return str(self.region or self.session.get_config_variable("region") or "")

    def credentials_source(self) -> str:
        """Where the credentials came from, in words (never the credentials themselves)."""
        if self.access_key and self.secret_key:
            return credentials_source("explicit")
        try:
            credentials = self.session.get_credentials()
        except Exception:
            return "the AWS credential chain"
        method = None if credentials is None else credentials.method
        return credentials_source(method, self.session.profile)

    def translate(self, exc: Exception, service: str | None = None) -> SparkifyError:
        """``exc`` as the :class:`SparkifyError` that names the fix (see :data:`WORDING`)."""
        return translate(
            exc,
            WORDING,
            service=service,
            credentials=self.credentials_source,
            region=lambda: self.region_name,
        )

    def call(self, service: str, operation: str, note: str = "", **params: Any) -> Any:
        """Call ``operation`` and return its response; ``None`` in a dry run."""
        self.calls.append(Call(service, operation, params, note))
        if self.dry_run:
            return None
        try:
            return getattr(self.client(service), operation)(**params)
        except SparkifyError:
            raise
        except Exception as exc:
            raise self.translate(exc, service) from None

    def read(self, service: str, operation: str, missing: str, **params: Any) -> Any:
        """Like :meth:`call`, but ``None`` when AWS answers with the error code ``missing``."""
        from botocore.exceptions import ClientError

        self.calls.append(Call(service, operation, params))
        if self.dry_run:
            return None
        try:
            return getattr(self.client(service), operation)(**params)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == missing:
                return None
            raise self.translate(exc, service) from None
        except SparkifyError:
            raise
        except Exception as exc:
            raise self.translate(exc, service) from None

    def wait(
        self,
        service: str,
        waiter: str,
        *,
        what: str,
        timeout: float,
        delay: float,
        progress: Progress | None = None,
        state: Callable[[Any], str] = lambda response: "not ready",
        **params: Any,
    ) -> None:
        """Wait with boto3's ``waiter`` until it succeeds, at most ``timeout`` seconds.

        Polls every ``delay`` seconds and tells ``progress`` the state seen each time; when time
        runs out raises :class:`ClusterStuckError`.
        """
        self.calls.append(
            Call(service, f"get_waiter({waiter!r}).wait", params, f"every {delay:g} s")
        )
        if self.dry_run:
            return
        from botocore.exceptions import WaiterError

        start = time.monotonic()
        while True:
            try:
                self.client(service).get_waiter(waiter).wait(
                    **params, WaiterConfig={"Delay": delay, "MaxAttempts": 1}
                )
                return
            except WaiterError as exc:
                response = exc.last_response or {}
                if "Error" in response or exc.kwargs.get("reason") != "Max attempts exceeded":
                    raise self.translate(exc, service) from None
                seen = state(response)
            except SparkifyError:
                raise
            except Exception as exc:
                raise self.translate(exc, service) from None
            elapsed = time.monotonic() - start
            if elapsed + delay > timeout:
                raise ClusterStuckError(
                    f"{what} is still {seen} after {elapsed:.0f} s (timeout {timeout:g} s): "
                    "look at its events in the Redshift console, then run again with a longer "
                    "timeout_seconds (creating or deleting a cluster often takes 5-15 minutes)",
                    state=seen,
                    seconds=elapsed,
                )
            if progress is not None:
                progress(f"waiting for {what}: {seen} ({elapsed:.0f} s of at most {timeout:g} s)")
            time.sleep(delay)
