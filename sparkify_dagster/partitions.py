"""The days of the event logs, as Dagster's daily partitions.

``staging_events`` and what follows one day's events exactly (``songplays``, ``time``) are
partitioned by the day each log's name carries (``log_data/2018/11/2018-11-05-events.json`` is
``2018-11-05``). The days run from ``SPARKIFY_FIRST_DAY`` to ``SPARKIFY_LAST_DAY`` (or today):
a daily definition rather than dynamic partitions, because ``dagster asset materialize
--partition 2018-11-30`` must work on a fresh instance, which knows no dynamic keys yet. Unset,
the days are the built-in sample's November 2018 when no log data is set (so the partition bar
shows its 30 days, not every day since), else from 2018-11-01 to today.

A range of days runs as one run (a single-run backfill policy on every asset), so a backfill
of a month costs about what one load of that month costs.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetExecutionContext,
    BackfillPolicy,
    BetaWarning,
    DailyPartitionsDefinition,
)

from sparkify_dagster.core.errors import ConfigError, SparkifyError
from sparkify_dagster.core.settings import CONFIG, FIRST_DAY, LAST_DAY, LOG_DATA, Settings
from sparkify_dagster.ingest.days import DAY_FORMAT, day_key, log_day
from sparkify_dagster.ingest.sources import open_source
from sparkify_dagster.warehouse.days import EVERY_DAY, Days

SAMPLE_DAYS = (date(2018, 11, 1), date(2018, 11, 30))  # the built-in sample's logs
SINGLE_RUN = BackfillPolicy.single_run()
# Dagster marks backfill policies beta; they are what makes a range of days one run. Its notice
# would otherwise open every command's output.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)


def day_bounds() -> tuple[date, date | None]:
    """The first and last day of the partitions (``None``: today, whichever day that is)."""
    config = CONFIG.lookup()
    first = FIRST_DAY.lookup(config=config) or SAMPLE_DAYS[0]
    last = LAST_DAY.lookup(config=config)
    if last is None and LOG_DATA.lookup(config=config) is None:
        last = SAMPLE_DAYS[1]
    if last is not None and last < first:
        raise ConfigError(
            f"$SPARKIFY_LAST_DAY ({last}) is before the first day ({first}): give a later one"
        )
    return first, last


def log_days(first: date, last: date | None) -> DailyPartitionsDefinition:
    """Daily partitions from ``first`` to ``last`` (both included), or to today (UTC)."""
    end = None if last is None else day_key(last + timedelta(days=1))
    return DailyPartitionsDefinition(
        start_date=day_key(first),
        end_date=end,
        end_offset=0 if last is not None else 1,  # today's log is a day like the others
        fmt=DAY_FORMAT,
        timezone="UTC",
    )


LOG_DAYS = log_days(*day_bounds())


def days_of(context: AssetExecutionContext) -> Days:
    """The days a materialization is for: its partition or range of partitions; every day when
    the asset is not partitioned."""
    if context.assets_def.partitions_def is None:
        return EVERY_DAY
    return run_days(context)


def run_days(context: AssetExecutionContext | AssetCheckExecutionContext) -> Days:
    """The days a run is for, from its tags: its day or range of days; every day when it is
    for no partition.

    A run of one day (``--partition``) has a partition key and no range tags; a range
    (``--partition-range``, a backfill) has the range tags. Both give ``partition_key_range``.
    """
    if not (context.has_partition_key or context.has_partition_key_range):
        return EVERY_DAY
    keys = context.partition_key_range
    return Days(keys.start, keys.end)


def held_days(location: str, *, no_sign_request: bool = False) -> tuple[str, str] | None:
    """The first and last day among the partitions that the logs in ``location`` hold."""
    keys = set(LOG_DAYS.get_partition_keys())
    files = open_source(location, no_sign_request=no_sign_request).files()
    days = sorted(day for day in (log_day(file.uri) for file in files) if day in keys)
    return (days[0], days[-1]) if days else None


def main() -> int:  # pragma: no cover - run by ./dev materialize
    """Print ``FIRST...LAST``, the range of days the configured logs hold (``./dev materialize``
    passes it to ``--partition-range``), or nothing when they hold none."""
    from sparkify_dagster.warehouse.pipeline import source_locations

    try:
        settings = Settings.resolve(config=CONFIG.lookup())
        _, logs = source_locations(settings)
        held = held_days(logs, no_sign_request=settings.no_sign_request)
    except SparkifyError:  # the last day: the run's staging step names what is wrong
        last = LOG_DAYS.get_last_partition_key() or ""
        held = (last, last)
    if held is not None:
        print("...".join(held))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
