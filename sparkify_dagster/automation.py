"""How the warehouse follows its staging without a schedule, and when it counts as overdue.

**Declarative automation.** The sensors ``new_logs`` and ``new_songs`` load staging alone (with
its checks); the star tables and ``listening_report`` follow by their automation conditions,
which the automation sensor ``default_automation_condition_sensor`` (:func:`follow_staging`)
evaluates every 30 seconds (as often as the sensors when ``SPARKIFY_SENSOR_INTERVAL`` is
shorter). So a load of staging made any way (a sensor's run, one day of ``staging_events`` from
the UI, a backfill, a run of ``staging_songs``) is followed by the tables built from it, then by
the report:

- ``songplays`` and ``time`` follow staging day by day (:func:`follows_days`): a day staged is
  that day built, a late day of any age included; the days of one tick are one backfill, one
  run by their single-run backfill policy. Dagster's ``eager()`` alone considers only the
  latest day. A change of the catalogue (``songs``) does not rebuild every day: ``songs`` itself
  re-matches the plays the change moves.
- ``users``, ``songs`` and ``artists`` are whole (:func:`follows_all`): they follow any update
  of what they are built from. A day without a log stays a missing partition for good, so
  missing days do not hold them back; ``eager()`` would wait for every day.
- ``listening_report`` (:func:`follows_built`) follows once the tables it reads have been built,
  in the tick after their runs rather than beside them: one report, after all of them.
- A blocking check of staging that fails (rows staged twice, records that do not reconcile)
  holds back everything built from it until the check passes again.

A run that already built a table together with its staging (``./dev materialize``, "Materialize
all") makes nothing run again: ``eager()`` passes over updates made by a run that targeted the
table itself.

The automation sensor starts stopped, like the two sensors that list the raw data: nothing runs
by itself until you switch the sensors on, and ``dagster sensor start --start-all`` (or the UI's
Automation page) switches on the three together. It must be on for the star to follow staging:
with it off, a sensor's run loads staging and nothing more.

**Freshness.** Logs arrive daily, so ``staging_events`` and ``listening_report`` are overdue
``SPARKIFY_FRESHNESS_HOURS`` (default 26) after their last materialization; the UI shows each
one's freshness (Dagster's daemon evaluates it).
"""

from collections.abc import Sequence
from datetime import timedelta

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    FreshnessPolicy,
    PartitionsDefinition,
    apply_freshness_policy,
)
from dagster._core.definitions.automation_condition_sensor_definition import (
    DEFAULT_AUTOMATION_CONDITION_SENSOR_NAME,
)

from sparkify_dagster.core.settings import FRESHNESS_HOURS
from sparkify_dagster.warehouse.model import ARTISTS, SONGPLAYS, SONGS, STAGING_EVENTS, TIME

Condition = AutomationCondition[AssetKey | AssetCheckKey]
BY_DAY = AssetSelection.assets(STAGING_EVENTS.name, SONGPLAYS.name, TIME.name)
CATALOGUE = AssetSelection.assets(SONGS.name, ARTISTS.name)
AUTOMATION_INTERVAL = 30  # Dagster's own automation sensor's seconds between ticks
EXPECTED_DAILY = (AssetKey(STAGING_EVENTS.name), AssetKey("listening_report"))


def follows_days() -> Condition:
    """Dagster's ``eager()`` for every day, not only the latest, blind to catalogue updates,
    held back by a failed blocking check upstream."""
    every_day = AutomationCondition.eager().without(AutomationCondition.in_latest_time_window())
    blind: Condition = every_day.replace(
        "any_deps_updated", AutomationCondition.any_deps_updated().ignore(CATALOGUE)
    )
    return (blind & AutomationCondition.all_deps_blocking_checks_passed()).with_label(
        "follows_days"
    )


def follows_all() -> Condition:
    """Dagster's ``eager()``, where days missing from a daily upstream do not hold it back,
    held back by a failed blocking check upstream."""
    return (whole() & AutomationCondition.all_deps_blocking_checks_passed()).with_label(
        "follows_all"
    )


def follows_built() -> Condition:
    """:func:`follows_all`, once what it is built from has been built: in a tick after their
    runs, never in one that asks for any of them, so it runs once, after all of them. (Dagster's
    ``will_be_requested`` sees only what shares its run: the whole tables. ``users`` is asked
    for whenever the plays of a day staged are, so that is enough.)"""
    built = AutomationCondition.any_deps_match(
        AutomationCondition.newly_updated() & ~AutomationCondition.executed_with_root_target()
    ).with_label("any_deps_built")
    asked = AutomationCondition.any_deps_match(AutomationCondition.will_be_requested())
    after = whole().replace("any_deps_updated", built)
    return (
        after
        & ~asked.with_label("any_deps_requested")
        & AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("follows_built")


def whole() -> Condition:
    """Dagster's ``eager()`` for a whole table built from daily ones."""
    return AutomationCondition.eager().replace(
        "any_deps_missing", AutomationCondition.any_deps_missing().ignore(BY_DAY)
    )


def follows(partitions: PartitionsDefinition | None = None) -> Condition:
    """The condition of a table partitioned by ``partitions`` (``None``: a whole table)."""
    return follows_days() if partitions is not None else follows_all()


def follow_staging(interval: int) -> AutomationConditionSensorDefinition:
    """The sensor that evaluates the conditions: Dagster's ``default_automation_condition_sensor``,
    stopped until turned on, ticking every ``interval`` seconds (at most Dagster's 30)."""
    return AutomationConditionSensorDefinition(
        DEFAULT_AUTOMATION_CONDITION_SENSOR_NAME,
        target=AssetSelection.all(),
        minimum_interval_seconds=min(interval, AUTOMATION_INTERVAL),
        default_status=DefaultSensorStatus.STOPPED,
        description=(
            "Builds the star tables and listening_report after staging is loaded, however it "
            "was loaded (new_logs, new_songs, a run or backfill from the UI): songplays and "
            "time for the days staged, users, songs and artists when what they are built from "
            "changed, then the report once. Waits while a staging check that blocks fails. "
            "Must be on for the star to follow the sensors' runs, which load staging only."
        ),
    )


def freshness(hours: int | None = None) -> FreshnessPolicy:
    """Overdue ``hours`` after the last materialization (default: ``SPARKIFY_FRESHNESS_HOURS``)."""
    window = timedelta(hours=hours or FRESHNESS_HOURS.lookup())
    return FreshnessPolicy.time_window(fail_window=window)


def expected_daily(
    assets: Sequence[AssetsDefinition], policy: FreshnessPolicy | None = None
) -> list[AssetsDefinition]:
    """``assets``, with ``policy`` (default :func:`freshness`) on those logs keep fresh daily."""
    chosen = policy or freshness()

    def expect(spec: AssetSpec) -> AssetSpec:
        return apply_freshness_policy(spec, chosen) if spec.key in EXPECTED_DAILY else spec

    return [
        asset.map_asset_specs(expect) if asset.keys & set(EXPECTED_DAILY) else asset
        for asset in assets
    ]
