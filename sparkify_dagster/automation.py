"""How the warehouse follows its staging without a schedule, and when it counts as overdue.

**Declarative automation.** The star tables and ``listening_report`` carry an automation
condition, so once Dagster's ``default_automation_condition_sensor`` is on (the UI's Automation
page; like every sensor here it starts stopped), a load of staging made any way (one day of
``staging_events`` from the UI, a backfill, a run of ``staging_songs``) is followed within 30
seconds by the tables built from it, then the report:

- ``songplays`` and ``time`` follow staging day by day (:func:`follows_days`): a day staged is
  that day built, a late day of any age included. Dagster's ``eager()`` alone considers only the
  latest day. A change of the catalogue (``songs``) does not rebuild every day: ``songs`` itself
  re-matches the plays the change moves.
- ``users``, ``songs``, ``artists`` and ``listening_report`` are whole (:func:`follows_all`): they
  follow any update of what they are built from. A day without a log stays a missing partition
  for good, so missing days do not hold them back; ``eager()`` would wait for every day.

A run that already built a table together with its staging (the sensors' runs, ``./dev
materialize``) makes nothing run again: ``eager()`` passes over updates made by a run that
targeted the table itself.

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
    FreshnessPolicy,
    PartitionsDefinition,
    apply_freshness_policy,
)

from sparkify_dagster.core.settings import FRESHNESS_HOURS
from sparkify_dagster.warehouse.model import ARTISTS, SONGPLAYS, SONGS, STAGING_EVENTS, TIME

Condition = AutomationCondition[AssetKey | AssetCheckKey]
BY_DAY = AssetSelection.assets(STAGING_EVENTS.name, SONGPLAYS.name, TIME.name)
CATALOGUE = AssetSelection.assets(SONGS.name, ARTISTS.name)
EXPECTED_DAILY = (AssetKey(STAGING_EVENTS.name), AssetKey("listening_report"))


def follows_days() -> Condition:
    """Dagster's ``eager()`` for every day, not only the latest, blind to catalogue updates."""
    every_day = AutomationCondition.eager().without(AutomationCondition.in_latest_time_window())
    return every_day.replace(
        "any_deps_updated", AutomationCondition.any_deps_updated().ignore(CATALOGUE)
    )


def follows_all() -> Condition:
    """Dagster's ``eager()``, where days missing from a daily upstream do not hold it back."""
    return AutomationCondition.eager().replace(
        "any_deps_missing", AutomationCondition.any_deps_missing().ignore(BY_DAY)
    )


def follows(partitions: PartitionsDefinition | None = None) -> Condition:
    """The condition of a table partitioned by ``partitions`` (``None``: a whole table)."""
    return follows_days() if partitions is not None else follows_all()


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
