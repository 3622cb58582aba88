"""Dagster's own floor: the product's seven table assets and their checks, each doing nothing.

    DAGSTER_HOME=… dagster asset materialize --select '*' -f benchmarks/dagster_floor.py

What materializing this graph costs before any warehouse work: starting ``dagster``, opening the
instance, planning the run, and the events it writes (for each asset and check: planned, output,
materialization or evaluation; for each step: start and success). ``tiers.py`` times it as
``floor-dagster`` on the instance settings of its ``dagster`` step. The suite checks that the
graph is still the product's (``test_dagster_floor.py``).
"""

from collections.abc import Iterator

import dagster as dg

UPSTREAM = {
    "staging_events": ("log_data",),  # the raw locations: external, observed
    "staging_songs": ("song_data",),
    "songplays": ("staging_events", "songs"),
    "users": ("staging_events",),
    "songs": ("staging_songs",),
    "artists": ("staging_songs",),
    "time": ("songplays",),
}
# Each asset's checks: (name, blocking, the other assets the check reads).
_STAGING = (("source_file_source_line_unique", True, ()), ("source_file_not_null", True, ()))
CHECKS = {
    "staging_events": (
        ("row_count", False, ()),
        *_STAGING,
        ("source_line_not_null", True, ()),
        ("records_reconcile", True, ()),
    ),
    "staging_songs": (("row_count", False, ()), *_STAGING, ("records_reconcile", True, ())),
    "songplays": (
        ("row_count", False, ()),
        ("songplay_id_unique", False, ()),
        ("songplay_id_not_null", False, ()),
        ("start_time_in_time", False, ("time",)),
        ("user_id_in_users", False, ("users",)),
        ("song_id_in_songs", False, ("songs",)),
        ("artist_id_in_artists", False, ("artists",)),
        ("level_accepted", False, ()),
        ("one_per_nextsong_event", False, ("staging_events",)),
    ),
    "users": (
        ("row_count", False, ()),
        ("user_id_unique", False, ()),
        ("user_id_not_null", False, ()),
        ("gender_accepted", False, ()),
        ("level_accepted", False, ()),
    ),
    "songs": (
        ("row_count", False, ()),
        ("song_id_unique", False, ()),
        ("song_id_not_null", False, ()),
        ("artist_id_in_artists", False, ("artists",)),
    ),
    "artists": (
        ("row_count", False, ()),
        ("artist_id_unique", False, ()),
        ("artist_id_not_null", False, ()),
    ),
    "time": (
        ("row_count", False, ()),
        ("start_time_unique", False, ()),
        ("start_time_not_null", False, ()),
        ("one_per_start_time", False, ("songplays",)),
    ),
}


def nothing_asset(name: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, deps=UPSTREAM[name])
    def _nothing() -> dg.MaterializeResult:
        return dg.MaterializeResult()

    return _nothing


def nothing_checks(name: str) -> dg.AssetChecksDefinition:
    specs = [
        dg.AssetCheckSpec(check, asset=name, blocking=blocking, additional_deps=others)
        for check, blocking, others in CHECKS[name]
    ]

    @dg.multi_asset_check(name=f"{name}_checks", specs=specs)
    def _passed() -> Iterator[dg.AssetCheckResult]:
        for spec in specs:
            yield dg.AssetCheckResult(asset_key=spec.asset_key, check_name=spec.name, passed=True)

    return _passed


defs = dg.Definitions(
    assets=[nothing_asset(name) for name in UPSTREAM],
    asset_checks=[nothing_checks(name) for name in CHECKS],
    executor=dg.in_process_executor,
)
