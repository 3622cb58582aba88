"""Sensors that keep the warehouse following its raw data: ``new_logs`` and ``new_songs``.

Each tick makes one library call (:mod:`sparkify_dagster.ingest.watch`) that lists only where
new files can be and compares them with the cursor. The files a tick finds become one run
request for the staging asset and its checks; the star tables and ``listening_report`` follow
by their automation conditions (:mod:`sparkify_dagster.automation`), so the automation sensor,
``default_automation_condition_sensor``, must be on too: without it, a sensor's run loads
staging and nothing more. ``new_logs`` asks for the days of the logs it found (new, late of any
age, rewritten): all of them in one run, for the range from the first to the last. The run key
is derived from the files and their ETags, so a repeated tick asks for nothing new; the staging
manifest still reads only new and changed files. All three start stopped: turn them on in the
UI's Automation page or with ``dagster sensor start --start-all -m sparkify_dagster``.

Settings: ``SPARKIFY_SENSOR_INTERVAL``, the least seconds between ticks (default 60; the
automation sensor's at most 30), read when the code location loads;
``SPARKIFY_SENSOR_MAX_KEYS`` and ``SPARKIFY_SENSOR_FULL_LISTING_MINUTES`` (how often
``new_logs`` lists every log, not only the newest), fields of the sources resource, read at
each tick.
"""

from collections.abc import Callable

from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from sparkify_dagster.assets import staging_events, staging_songs
from sparkify_dagster.core.errors import SourceError, SparkifyError
from sparkify_dagster.core.settings import SENSOR_INTERVAL
from sparkify_dagster.ingest.days import log_day
from sparkify_dagster.ingest.watch import Look, look_for_events, look_for_songs
from sparkify_dagster.partitions import LOG_DAYS
from sparkify_dagster.resources import SourcesResource

FILES_LOGGED = 20  # files named in a tick's log; the run key covers all of them
# Dagster needs a sensor's interval when the code location loads, not when it ticks.
INTERVAL = SENSOR_INTERVAL.lookup()


def tick(
    context: SensorEvaluationContext,
    name: str,
    location: str,
    variable: str,
    look: Callable[[], Look],
) -> SensorResult:
    """One tick: the look's files as one run request and the cursor to keep, or a skip reason
    saying what was listed. A location that cannot be listed fails the tick with the error's
    message (which names the fix) and leaves the cursor as it was. Event logs are asked for by
    their days (the run's partitions)."""
    try:
        found = look()
    except SparkifyError as exc:
        raise SourceError(f"{name} could not list {location} ({variable}): {exc}") from None
    if not found.found:
        moved = found.cursor if found.cursor != found.previous else None
        return SensorResult(skip_reason=str(found), cursor=moved)
    shown = ", ".join(file.key for file in found.found[:FILES_LOGGED])
    more = len(found.found) - FILES_LOGGED
    context.log.info(f"{found}: {shown}" + (f" and {more:,} more" if more > 0 else ""))
    tags = {
        "sparkify/sensor": name,
        "sparkify/location": location,
        "sparkify/new_files": str(len(found.found)),
    }
    if found.kind == "events":
        days = days_to_load(context, found)
        if days is None:
            return SensorResult(skip_reason=f"{found}: none of their days is a partition")
        tags.update(days)
    return SensorResult(
        run_requests=[RunRequest(run_key=found.run_key, tags=tags)], cursor=found.cursor
    )


def days_to_load(context: SensorEvaluationContext, found: Look) -> dict[str, str] | None:
    """The run tags that ask for the days of the logs ``found``: the range from the first to the
    last of them that are partitions (the others are logged), or None when none is."""
    keys = set(LOG_DAYS.get_partition_keys())
    days = sorted({log_day(file.key) or "" for file in found.found})
    wanted = [day for day in days if day in keys]
    outside = [file.key for file in found.found if (log_day(file.key) or "") not in keys]
    if outside:
        context.log.warning(
            f"{len(outside):,} log(s) name no day among the partitions "
            f"({LOG_DAYS.get_first_partition_key()} to {LOG_DAYS.get_last_partition_key()}; "
            f"SPARKIFY_FIRST_DAY, SPARKIFY_LAST_DAY) and are not loaded: {', '.join(outside[:5])}"
        )
    if not wanted:
        return None
    return {
        ASSET_PARTITION_RANGE_START_TAG: wanted[0],
        ASSET_PARTITION_RANGE_END_TAG: wanted[-1],
    }


@sensor(
    name="new_logs",
    target=AssetSelection.assets(staging_events),
    minimum_interval_seconds=INTERVAL,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Asks for one run of staging_events and its checks for the days whose event logs in "
        "SPARKIFY_LOG_DATA are new or changed: a new day, a late day of any age, a rewritten "
        "log, found by its ETag (local files: size and modification time). Each tick lists "
        "the newest logs (one request on S3); every log is listed at least every "
        "SPARKIFY_SENSOR_FULL_LISTING_MINUTES, a request of 1,000 days per tick, which finds "
        "late and rewritten older days. songplays and time for those days, users and "
        "listening_report follow when default_automation_condition_sensor is on."
    ),
)
def new_logs(context: SensorEvaluationContext, sources: SourcesResource) -> SensorResult:
    location = sources.location("events")
    return tick(
        context,
        "new_logs",
        location,
        "SPARKIFY_LOG_DATA",
        lambda: look_for_events(
            location,
            context.cursor,
            no_sign_request=sources.unsigned,
            full_listing_minutes=sources.sensor_full_listing_minutes,
        ),
    )


@sensor(
    name="new_songs",
    target=AssetSelection.assets(staging_songs),
    minimum_interval_seconds=INTERVAL,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Asks for one run of staging_songs and its checks when song files in "
        "SPARKIFY_SONG_DATA are new or changed. Lists the catalogue page by page, at most "
        "SPARKIFY_SENSOR_MAX_KEYS keys per tick, and finds the files written since the "
        "previous pass by their ETag (local files: size and modification time). songs and "
        "artists (songs re-matches the plays the change moves, no day is built again) and "
        "listening_report follow when default_automation_condition_sensor is on."
    ),
)
def new_songs(context: SensorEvaluationContext, sources: SourcesResource) -> SensorResult:
    location = sources.location("songs")
    return tick(
        context,
        "new_songs",
        location,
        "SPARKIFY_SONG_DATA",
        lambda: look_for_songs(
            location,
            context.cursor,
            no_sign_request=sources.unsigned,
            max_keys=sources.sensor_max_keys,
        ),
    )


SENSORS: list[SensorDefinition] = [new_logs, new_songs]
