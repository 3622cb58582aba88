"""S3 through boto3, configured only by the standard AWS chain (env, profile, instance role).

Nothing here names an endpoint: boto3 reads ``AWS_ENDPOINT_URL`` itself, which is how the tests
reach a local stand-in. AWS errors become sparkify errors in :func:`translate` and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NoReturn

from sparkify_dagster.core import aws
from sparkify_dagster.core.aws import Wording
from sparkify_dagster.core.errors import SourceError


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key/prefix`` as ``("bucket", "key/prefix")``.

    >>> split_uri("s3://udacity-dend/song_data")
    ('udacity-dend', 'song_data')
    """
    if not uri.startswith("s3://"):
        raise SourceError(f"{uri!r} is not an S3 location: expected s3://bucket/prefix")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise SourceError(f"{uri} names no bucket: write s3://bucket/prefix")
    return bucket, key


def join_uri(prefix: str, *parts: str) -> str:
    """``prefix`` and ``parts`` joined with exactly one ``/`` between them."""
    return "/".join([prefix.rstrip("/"), *(part.strip("/") for part in parts)])


def client() -> Any:
    """An S3 client from the standard AWS configuration chain."""
    import boto3

    return boto3.client("s3")


# What the S3 object helpers (control files, compaction) say about each kind of AWS failure.
_CHECK_ACCESS = " (check the AWS credentials and the bucket policy)"
WORDING = Wording(
    messages={
        "refused": "S3 {doing}: {code}: {message}",
        "credentials": "S3 {doing}: {code}: {message}" + _CHECK_ACCESS,
        "denied": "S3 {doing}: {code}: {message}" + _CHECK_ACCESS,
        "no-credentials": (
            "S3 {doing}: {error} (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
        ),
        "failed": "S3 {doing}: {error}",
    },
    error=SourceError,
)


def translate(exc: Exception, doing: str) -> NoReturn:
    """Raise a boto3/botocore error as a :class:`SourceError` that says what was being done
    (:func:`sparkify_dagster.core.aws.translate`, in these helpers' words)."""
    raise aws.translate(exc, WORDING, doing=doing) from None


def list_objects(s3: Any, uri: str) -> Iterator[dict[str, Any]]:
    """Every object below ``uri`` (``Key``, ``Size``, ``ETag``), in key order."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = split_uri(uri)
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            yield from page.get("Contents", [])
    except (BotoCoreError, ClientError) as exc:
        translate(exc, f"cannot list {uri}")


def get(s3: Any, uri: str) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_uri(uri)
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
    except (BotoCoreError, ClientError) as exc:
        translate(exc, f"cannot read {uri}")


def put(s3: Any, uri: str, body: Any, content_type: str = "application/json") -> None:
    """Write ``body`` (bytes or a binary file) to ``uri``."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_uri(uri)
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    except (BotoCoreError, ClientError) as exc:
        translate(exc, f"cannot write {uri}")
