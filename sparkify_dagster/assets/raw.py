"""``log_data`` and ``song_data``: the raw JSON, as observable sources upstream of staging.

Dagster does not write them; it observes them. An observation lists the location (never reads a
file) and records its data version, a digest of every file's key and stamp
(:mod:`~sparkify_dagster.ingest.fingerprint`), with the files, bytes and latest write as
metadata. So the lineage starts where the data does, and the UI shows when each source last
changed and, once observed again, that staging has newer data to load. Observe them from the
asset graph ("Observe sources") or with ``raw_data`` in a materialization's selection.
"""

from collections.abc import Callable, Iterator
from typing import Any
from warnings import catch_warnings, simplefilter

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BetaWarning,
    DataVersion,
    MetadataValue,
    ObserveResult,
    multi_observable_source_asset,
)

from sparkify_dagster.catalog import owners
from sparkify_dagster.core.errors import SourceError, SparkifyError
from sparkify_dagster.core.settings import LOG_DATA, SONG_DATA, Setting
from sparkify_dagster.failures import reported
from sparkify_dagster.ingest.fingerprint import Fingerprint, fingerprint
from sparkify_dagster.metadata import GROUP
from sparkify_dagster.resources import SourcesResource

# Each raw location by the kind of records it holds, with the variable that names it.
RAW: dict[str, tuple[AssetSpec, Setting[Any]]] = {
    "events": (
        AssetSpec(
            "log_data",
            description="The event logs, one file a day (log_data/YYYY/MM/YYYY-MM-DD-events.json):"
            " a folder or s3:// prefix, from SPARKIFY_LOG_DATA; the built-in sample if unset.",
            group_name=GROUP,
            kinds={"json"},
            owners=owners(),
            tags={"layer": "raw"},
        ),
        LOG_DATA,
    ),
    "songs": (
        AssetSpec(
            "song_data",
            description="The song catalogue, one song a file (song_data/A/B/C/TR….json): a "
            "folder or s3:// prefix, from SPARKIFY_SONG_DATA; the built-in sample if unset.",
            group_name=GROUP,
            kinds={"json"},
            owners=owners(),
            tags={"layer": "raw"},
        ),
        SONG_DATA,
    ),
}


def raw_key(kind: str) -> AssetKey:
    """The key of the raw location of ``songs`` or ``events``, which staging depends on."""
    return RAW[kind][0].key


def observed(kind: str, sources: SourcesResource) -> Fingerprint:
    """The fingerprint of the ``kind`` location; one that cannot be listed is a
    :class:`SourceError` naming the source, the location and its variable."""
    spec, setting = RAW[kind]
    location = sources.location(kind)
    try:
        return fingerprint(location, no_sign_request=sources.unsigned)
    except SparkifyError as exc:
        raise SourceError(
            f"{spec.key.to_user_string()} could not be listed at {location} "
            f"({setting.variable}): {exc}"
        ) from None


def observation(kind: str, seen: Fingerprint) -> ObserveResult:
    """What the UI shows of one observation: the data version and the listing's sums."""
    metadata: dict[str, Any] = {
        "location": seen.location,
        "files": seen.files,
        "bytes": seen.size,
    }
    if seen.last_modified is not None:
        metadata["dagster/last_updated_timestamp"] = MetadataValue.timestamp(seen.last_modified)
    return ObserveResult(
        asset_key=raw_key(kind),
        data_version=DataVersion(seen.version),
        metadata=metadata,
    )


# Dagster marks observable sources beta; they are how it shows data it does not write.
with catch_warnings():
    simplefilter("ignore", BetaWarning)
    observable: Callable[[Callable[..., Iterator[ObserveResult]]], AssetsDefinition]
    observable = multi_observable_source_asset(
        specs=[spec for spec, _ in RAW.values()],
        name="raw_data",
        description="Lists the raw locations (no file is read) and records their data versions.",
        can_subset=True,
    )


@observable
def raw_data(context: AssetExecutionContext, sources: SourcesResource) -> Iterator[ObserveResult]:
    """Observe ``log_data`` and ``song_data`` (those selected): one listing each."""
    for kind in RAW:
        if raw_key(kind) in context.selected_asset_keys:
            with reported():
                seen = observed(kind, sources)
            yield observation(kind, seen)
