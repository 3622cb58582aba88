"""Sensors that keep the warehouse following its raw data: ``new_logs`` and ``new_songs``.

Each tick makes one library call (:mod:`sparkify_dagster.ingest.watch`) that lists only where
new files can be and compares them with the cursor. The files a tick finds become one run
request for the staging asset and everything downstream of it: the star tables, their checks
and ``listening_report``, so the report never lags the tables. The run key is derived from the
files and their ETags, so a repeated tick asks for nothing new; the staging manifest still reads
only new and changed files. Both sensors start stopped: turn them on in the UI's Automation page
or with ``dagster sensor start --start-all -m sparkify_dagster``.

Settings: ``SPARKIFY_SENSOR_INTERVAL``, the least seconds between ticks (default 60), read when
the code location loads; ``SPARKIFY_SENSOR_LOOKBACK_DAYS`` and ``SPARKIFY_SENSOR_MAX_KEYS``,
fields of the sources resource, read at each tick.
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

from sparkify_dagster.assets import staging_events, staging_songs
from sparkify_dagster.core.errors import SourceError, SparkifyError
from sparkify_dagster.core.settings import SENSOR_INTERVAL
from sparkify_dagster.ingest.watch import Look, look_for_events, look_for_songs
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
    message (which names the fix) and leaves the cursor as it was."""
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
    request = RunRequest(
        run_key=found.run_key,
        tags={
            "sparkify/sensor": name,
            "sparkify/location": location,
            "sparkify/new_files": str(len(found.found)),
        },
    )
    return SensorResult(run_requests=[request], cursor=found.cursor)


@sensor(
    name="new_logs",
    target=AssetSelection.assets(staging_events).downstream(),
    minimum_interval_seconds=INTERVAL,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Asks for one run of staging_events and everything downstream of it (songplays, users, "
        "time, their checks, listening_report) when event logs in SPARKIFY_LOG_DATA are new or "
        "changed. Lists only the date folders from a few days before the newest log on, so a "
        "tick costs the same after a year of daily logs as after a week; a late or rewritten "
        "log is found by its ETag (local files: size and modification time)."
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
            lookback_days=sources.sensor_lookback_days,
        ),
    )


@sensor(
    name="new_songs",
    target=AssetSelection.assets(staging_songs).downstream(),
    minimum_interval_seconds=INTERVAL,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Asks for one run of staging_songs and everything downstream of it (songs, artists, "
        "songplays, time, their checks, listening_report) when song files in "
        "SPARKIFY_SONG_DATA are new or changed. Lists the catalogue page by page, at most "
        "SPARKIFY_SENSOR_MAX_KEYS keys per tick, and finds the files written since the "
        "previous pass by their ETag (local files: size and modification time)."
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
