"""Read ``s3://bucket/prefix`` locations for the local engines, fast and with bounded memory.

The published data is ~15,000 song objects of ~250 bytes each, so the cost is in round trips:
:class:`S3Source` lists with a paginator, then fetches many objects at once on a bounded thread
pool, handing them over in listing order with a bounded look-ahead (a number of objects and of
bytes), so a few large objects never sit in memory together.

AWS settings come only from the standard configuration chain (profiles, ``AWS_*`` variables,
``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_S3`` for S3-compatible stores, ``AWS_RETRY_MODE``,
``AWS_MAX_ATTEMPTS``). With no credentials at all, requests go unsigned, as for a public bucket.

>>> source = S3Source("s3://udacity-dend/song_data", no_sign_request=True)  # doctest: +SKIP
>>> files = source.files()  # doctest: +SKIP
>>> for file, data in source.contents(files[:2]):  # doctest: +SKIP
...     print(file.uri, file.version, len(data))
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import boto3
import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from rich import filesize

from sparkify_dagster.core.aws import CREDENTIAL_SOURCES, Wording, credentials_source, translate
from sparkify_dagster.core.errors import SourceError, SparkifyError
from sparkify_dagster.ingest.files import ListedFile, Listing, SourceFile, is_wanted
from sparkify_dagster.ingest.s3_objects import split_uri

log = logging.getLogger(__name__)

WORKERS = 32  # concurrent GETs; the connection pool is sized to match
WINDOW_BYTES = 64 * 2**20  # listed bytes fetched ahead of the consumer, at most
DEFAULT_MAX_ATTEMPTS = 5  # per request, when AWS_MAX_ATTEMPTS / max_attempts is not set

# S3 messages name the environment as "environment variables".
_CREDENTIAL_SOURCES = {**CREDENTIAL_SOURCES, "env": "environment variables (AWS_ACCESS_KEY_ID)"}

# What the S3 reader says about each kind of AWS failure (see core.aws.translate).
_DENIED_SIGNED = (
    "access to {what} was denied ({code}) using {credentials}; give these credentials "
    "s3:ListBucket and s3:GetObject, choose others with AWS_PROFILE, or set "
    "SPARKIFY_NO_SIGN_REQUEST=true for a public bucket"
)
_DENIED_UNSIGNED = (
    "access to {what} was denied ({code}) to unsigned requests: it is not public. Configure "
    "AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...) and unset SPARKIFY_NO_SIGN_REQUEST"
)
_MESSAGES = {
    "missing-bucket": (
        "bucket {bucket} does not exist (reading {what}); check the name in "
        "SPARKIFY_SONG_DATA/SPARKIFY_LOG_DATA"
    ),
    "vanished": (
        "{what} was listed but is gone now (it was deleted while sparkify was reading); nothing "
        "was loaded, run again"
    ),
    "changed": (
        "{what} changed while sparkify was reading it (its ETag differs from the listing); "
        "nothing was loaded, run again"
    ),
    "refused": (
        "reading {what} failed after {attempts}: {code} ({message}); the store is busy or "
        "unavailable, retry later or raise AWS_MAX_ATTEMPTS"
    ),
    "failed": (
        "reading {what} failed: {error}; check AWS_ENDPOINT_URL/AWS_REGION and the network, "
        "retry later or raise AWS_MAX_ATTEMPTS"
    ),
}
_SIGNED = Wording(
    {**_MESSAGES, "credentials": _DENIED_SIGNED, "denied": _DENIED_SIGNED}, error=SourceError
)
_UNSIGNED = Wording(
    {**_MESSAGES, "credentials": _DENIED_UNSIGNED, "denied": _DENIED_UNSIGNED}, error=SourceError
)


@dataclass(frozen=True)
class FetchStats:
    """What :meth:`S3Source.contents` fetched: objects, bytes as stored, seconds."""

    objects: int
    nbytes: int
    seconds: float

    def __str__(self) -> str:
        seconds = max(self.seconds, 1e-6)
        size, rate = filesize.decimal(self.nbytes), filesize.decimal(int(self.nbytes / seconds))
        return (
            f"{self.objects:,} objects ({size}) in {self.seconds:.1f} s: "
            f"{self.objects / seconds:,.0f} objects/s, {rate}/s"
        )


class S3Source:
    """The ``*.json``/``*.json.gz`` objects under an ``s3://bucket/prefix``, read concurrently.

    ``prefix`` is a folder: ``s3://b/song_data`` reads ``song_data/…`` but not
    ``song_data_old/…``; a prefix that is exactly one object's key reads that object. Hidden keys
    (a path part starting with ``.``) are skipped, as
    :class:`~sparkify_dagster.ingest.sources.LocalSource` skips hidden files.
    :attr:`SourceFile.version` is the object's ETag.
    """

    def __init__(
        self,
        location: str,
        *,
        no_sign_request: bool = False,
        workers: int = WORKERS,
        window: int | None = None,
        window_bytes: int = WINDOW_BYTES,
    ) -> None:
        if workers < 1:
            raise SourceError(f"workers is {workers}, it must be at least 1")
        self.location = location
        self.bucket, self.prefix = split_uri(location)
        self.no_sign_request = no_sign_request
        self.workers = workers
        self.window = max(window if window is not None else 4 * workers, 1)
        self.window_bytes = window_bytes
        self.stats: FetchStats | None = None
        self._client: Any = None
        self.credentials = "no credentials (unsigned requests)"
        self.max_attempts = DEFAULT_MAX_ATTEMPTS

    def __repr__(self) -> str:
        return f"S3Source({self.location!r})"

    # -- listing -------------------------------------------------------------------------------

    def files(self) -> list[SourceFile]:
        """Every wanted object with its size and ETag: on S3 the listing is the stamp."""
        s3 = self.client()
        folder = self.prefix if not self.prefix or self.prefix.endswith("/") else f"{self.prefix}/"
        found: list[tuple[list[str], SourceFile]] = []
        skipped = 0
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            ):
                for item in page.get("Contents", ()):
                    key: str = item["Key"]
                    if key == self.prefix and not key.endswith("/"):
                        wanted = True  # the location names one object
                    elif key.startswith(folder):
                        wanted = is_wanted(key.removeprefix(folder).split("/"))
                    else:
                        continue  # a sibling such as song_data_old/
                    if not wanted:
                        skipped += 1
                        continue
                    file = SourceFile(
                        f"s3://{self.bucket}/{key}", item["Size"], item["ETag"].strip('"')
                    )
                    found.append((key.split("/"), file))
        except (ClientError, BotoCoreError) as exc:
            raise self._explain(exc, self.location) from None
        if not found:
            others = f", only {skipped:,} other object{'s' * (skipped != 1)}" if skipped else ""
            raise SourceError(
                f"{self.location} holds no *.json or *.json.gz objects{others}; hidden keys are "
                "skipped. Check the bucket and prefix"
            )
        found.sort(key=lambda pair: pair[0])  # the order LocalSource uses for the same tree
        return [file for _, file in found]

    def list_after(self, start_after: str = "", *, max_keys: int | None = None) -> Listing:
        """The wanted objects whose key below the location sorts after ``start_after``, in key
        order, looking at about ``max_keys`` keys at most (a page holds up to 1,000).

        S3 starts the listing at ``start_after`` itself (``StartAfter``), so the keys before it
        cost nothing; the key need not exist. ``clock`` is the server's time (its ``Date``
        header), the clock its LastModified times are on.
        """
        s3 = self.client()
        folder = self.prefix if not self.prefix or self.prefix.endswith("/") else f"{self.prefix}/"
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": folder}
        if start_after:
            params["StartAfter"] = folder + start_after
        found: list[ListedFile] = []
        clock = 0.0
        looked = requests = 0
        try:
            while True:
                if max_keys is not None:
                    params["MaxKeys"] = max(min(1000, max_keys - looked), 1)
                page = s3.list_objects_v2(**params)
                requests += 1
                clock = clock or _server_time(page)
                last = ""
                for item in page.get("Contents", ()):
                    key: str = item["Key"]
                    last = key.removeprefix(folder)
                    looked += 1
                    if is_wanted(last.split("/")):
                        uri = f"s3://{self.bucket}/{key}"
                        version = item["ETag"].strip('"')
                        modified = item["LastModified"].timestamp()
                        found.append(ListedFile(last, uri, item["Size"], version, modified))
                if not page.get("IsTruncated"):
                    break
                if max_keys is not None and looked >= max_keys:
                    return Listing(found, last, clock, requests)
                params["ContinuationToken"] = page["NextContinuationToken"]
            if not found and not looked and not start_after and folder != self.prefix:
                found = self._single_object()
                requests += 1
        except (ClientError, BotoCoreError) as exc:
            raise self._explain(exc, self.location) from None
        return Listing(found, None, clock, requests)

    def _single_object(self) -> list[ListedFile]:
        """The object the location names exactly, as :meth:`files` reads it, if there is one."""
        page = self.client().list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
        for item in page.get("Contents", ()):
            if item["Key"] == self.prefix:
                name = self.prefix.rsplit("/", 1)[-1]
                version = item["ETag"].strip('"')
                modified = item["LastModified"].timestamp()
                return [ListedFile(name, self.location, item["Size"], version, modified)]
        return []

    # -- fetching ------------------------------------------------------------------------------

    def contents(self, files: Iterable[SourceFile]) -> Iterator[tuple[SourceFile, bytes]]:
        """Each file with its bytes as stored, in the order given, fetched ahead in parallel.

        At most :attr:`window` objects and about :attr:`window_bytes` listed bytes are fetched
        ahead of the consumer; an object larger than that is fetched on its own.
        """
        s3 = self.client()
        started = time.perf_counter()
        objects = nbytes = 0
        upcoming = iter(files)
        following = next(upcoming, None)
        queued: deque[tuple[SourceFile, Future[bytes]]] = deque()
        queued_bytes = 0
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sparkify-s3")
        try:
            while True:
                while (
                    following is not None
                    and len(queued) < self.window
                    and (not queued or queued_bytes + following.size <= self.window_bytes)
                ):
                    queued.append((following, pool.submit(self._fetch, s3, following)))
                    queued_bytes += following.size
                    following = next(upcoming, None)
                if not queued:
                    break
                file, future = queued.popleft()
                data = future.result()
                queued_bytes -= file.size
                objects += 1
                nbytes += len(data)
                yield file, data
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        self.stats = FetchStats(objects, nbytes, time.perf_counter() - started)
        log.info("read %s: %s", self.location, self.stats)

    def _fetch(self, s3: Any, file: SourceFile) -> bytes:
        """The stored bytes of ``file``, if it still has the ETag it was listed with."""
        bucket, key = split_uri(file.uri)
        if bucket != self.bucket:
            raise SourceError(f"{file.uri} is not in s3://{self.bucket}, the bucket of {self}")
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = s3.get_object(Bucket=bucket, Key=key, IfMatch=f'"{file.version}"')
            except (ClientError, BotoCoreError) as exc:
                raise self._explain(exc, file.uri) from None
            try:
                data: bytes = response["Body"].read()
                return data
            except (IncompleteReadError, ResponseStreamingError, ReadTimeoutError) as exc:
                # botocore retries requests, not a body cut off half-way: fetch it again.
                if attempt == self.max_attempts:
                    raise SourceError(
                        f"reading {file.uri} failed {attempt} times, the connection broke off "
                        f"mid-object ({exc}); retry later or raise AWS_MAX_ATTEMPTS"
                    ) from None
                time.sleep(min(0.02 * 2**attempt, 2.0))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- AWS -----------------------------------------------------------------------------------

    def client(self) -> Any:
        """The S3 client, made on first use from the standard AWS configuration chain."""
        if self._client is None:
            core = botocore.session.get_session()
            session = boto3.session.Session(botocore_session=core)
            credentials = None if self.no_sign_request else session.get_credentials()
            options: dict[str, Any] = {"max_pool_connections": self.workers}
            if credentials is None:
                options["signature_version"] = UNSIGNED
                if not self.no_sign_request:
                    log.warning(
                        "no AWS credentials are configured: reading %s with unsigned requests, "
                        "as for a public bucket (SPARKIFY_NO_SIGN_REQUEST=true says so and skips "
                        "the credential lookup)",
                        self.location,
                    )
            else:
                where = credentials_source(
                    credentials.method, session.profile_name, sources=_CREDENTIAL_SOURCES
                )
                self.credentials = f"credentials from {where}"
            configured = core.get_config_variable("max_attempts")
            if configured is None:
                options["retries"] = {"total_max_attempts": DEFAULT_MAX_ATTEMPTS}
            else:
                self.max_attempts = max(int(configured), 1)
            self._client = session.client("s3", config=Config(**options))
        return self._client

    def _explain(self, exc: Exception, what: str) -> SparkifyError:
        """botocore's error as a message naming the object and the fix."""
        unsigned = self.credentials.startswith("no credentials")
        return translate(
            exc,
            _UNSIGNED if unsigned else _SIGNED,
            what=what,
            bucket=self.bucket,
            credentials=self.credentials,
        )


def _server_time(response: dict[str, Any]) -> float:
    """The time in the ``Date`` header of a response, else this machine's."""
    header = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        return parsedate_to_datetime(header).timestamp() if header else time.time()
    except (TypeError, ValueError):
        return time.time()
