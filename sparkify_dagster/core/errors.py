"""Every error sparkify raises on purpose derives from :class:`SparkifyError`.

Messages name the bad thing and, where there is one, the fix. The CLI prints them as
``Error: <message>`` and exits non-zero; library users can catch the specific subclasses.
"""

from __future__ import annotations


class SparkifyError(Exception):
    """Base class of every error sparkify raises on purpose."""


class ConfigError(SparkifyError):
    """A setting is missing or invalid."""


class AlertError(SparkifyError):
    """An alert could not be delivered; the message never holds the webhook's URL."""


class SourceError(SparkifyError):
    """An input location cannot be read (missing folder, no files, unreadable file)."""


class RecordError(SparkifyError):
    """One input record cannot be loaded.

    Carries where it came from so that a person can find it: ``source`` is the file path or
    URI, ``line`` the 1-based line for line-delimited files (``None`` for whole-file records).
    """

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source} line {line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


class WarehouseError(SparkifyError):
    """The warehouse refused an operation (connection, lock, SQL error)."""


class AwsError(SparkifyError):
    """AWS refused or could not finish a request; the message says which and the fix.

    ``code`` is AWS's error code (``AccessDenied``, …) and ``action`` the API action
    (``iam:CreateRole``) when AWS answered; both ``None`` otherwise.
    """

    def __init__(self, message: str, *, code: str | None = None, action: str | None = None):
        super().__init__(message)
        self.code = code
        self.action = action


class AwsCredentialsError(AwsError):
    """No AWS credentials were found, or AWS does not recognise them."""


class AwsAccessDeniedError(AwsError):
    """The credentials are valid but lack a permission the operation needs."""


class AwsParameterError(AwsError):
    """AWS rejected a value (node type, node count, password, identifier, …)."""


class ClusterNotFoundError(AwsError):
    """The Redshift cluster named in the configuration does not exist."""


class ClusterStuckError(AwsError):
    """The cluster did not reach the awaited state before the timeout.

    ``state`` is the last state seen, ``seconds`` how long it was awaited.
    """

    def __init__(self, message: str, *, state: str, seconds: float):
        super().__init__(message)
        self.state = state
        self.seconds = seconds


class ResourceConflictError(AwsError):
    """A name sparkify would use already belongs to something it did not create for this purpose."""
