"""``log_data`` and ``song_data`` as observable sources: observed on S3 (the loopback moto server)
and local folders, their data version moving only when a file does, without reading one."""

from __future__ import annotations

from typing import Any

import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

import sparkify_dagster
from sparkify_dagster.assets import raw_data, staging_events, staging_songs
from sparkify_dagster.ingest import sources
from sparkify_dagster.ingest.fingerprint import fingerprint
from sparkify_dagster.resources import SourcesResource
from sparkify_dagster_tests.helpers import Store


def observe(store: Store, instance: DagsterInstance, **locations: str) -> Any:
    """One run observing both sources in ``store`` (``locations`` replaces either)."""
    chosen = {"song_data": store.location("song_data"), "log_data": store.location("log_data")}
    return materialize(
        [raw_data],
        selection=AssetSelection.assets(raw_data),
        resources={"sources": SourcesResource(**{**chosen, **locations})},
        instance=instance,
        raise_on_error=False,
    )


def versions(instance: DagsterInstance) -> dict[str, str | None]:
    """The latest data version Dagster holds for each source."""
    found = {}
    for name in ("log_data", "song_data"):
        record = instance.get_latest_data_version_record(AssetKey(name))
        assert record is not None and record.asset_observation is not None
        found[name] = record.asset_observation.data_version
    return found


@pytest.fixture
def filled(store: Store) -> Store:
    store.put("log_data/2018/11/2018-11-01-events.json", '{"ts": 1}\n')
    store.put("log_data/2018/11/2018-11-02-events.json", '{"ts": 2}\n')
    store.put("song_data/A/A/A/TRAAA.json", '{"song_id": "SOAAA"}')
    return store


def test_observing_records_each_source_s_version_files_and_bytes(filled: Store) -> None:
    instance = DagsterInstance.ephemeral()
    result = observe(filled, instance)

    assert result.success
    observed = {
        event.asset_key.to_user_string(): event.event_specific_data.asset_observation  # type: ignore[union-attr]
        for event in result.get_asset_observation_events()
    }
    assert set(observed) == {"log_data", "song_data"}
    logs = observed["log_data"].metadata
    assert logs["files"].value == 2 and logs["bytes"].value == 20
    assert logs["location"].value == filled.location("log_data")
    assert logs["dagster/last_updated_timestamp"].value > 0
    assert versions(instance)["log_data"] == fingerprint(filled.location("log_data")).version


def test_the_version_moves_when_a_file_changes_and_stays_otherwise(filled: Store) -> None:
    instance = DagsterInstance.ephemeral()
    observe(filled, instance)
    first = versions(instance)

    observe(filled, instance)
    assert versions(instance) == first  # nothing changed

    filled.put("log_data/2018/11/2018-11-02-events.json", '{"ts": 22}\n')  # rewritten
    observe(filled, instance)
    rewritten = versions(instance)
    assert rewritten["log_data"] != first["log_data"]
    assert rewritten["song_data"] == first["song_data"]

    filled.put("song_data/A/A/B/TRAAB.json", '{"song_id": "SOAAB"}')  # a new song
    observe(filled, instance)
    assert versions(instance)["song_data"] != first["song_data"]

    filled.delete("log_data/2018/11/2018-11-01-events.json")  # a file gone
    observe(filled, instance)
    assert versions(instance)["log_data"] not in (first["log_data"], rewritten["log_data"])


def test_observing_reads_no_file(filled: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file was read")

    monkeypatch.setattr(sources, "_read", refuse)
    monkeypatch.setattr(sources.LocalSource, "contents", refuse)
    monkeypatch.setattr("sparkify_dagster.ingest.s3.S3Source.contents", refuse)

    assert observe(filled, DagsterInstance.ephemeral()).success


def test_a_location_that_cannot_be_listed_fails_naming_its_variable(filled: Store) -> None:
    missing = filled.location("log_data").replace("log_data", "no_such_folder")
    if filled.kind == "local":
        result = observe(filled, DagsterInstance.ephemeral(), log_data=missing)
        (failure,) = [event for event in result.all_events if event.is_step_failure]
        message = failure.step_failure_data.user_failure_data.description  # type: ignore[union-attr]
        assert message == (
            f"log_data could not be listed at {missing} (SPARKIFY_LOG_DATA): "
            f"{missing} does not exist"
        )
    else:  # an empty prefix is an empty listing on S3: a bucket that is not there fails
        result = observe(
            filled, DagsterInstance.ephemeral(), song_data="s3://no-such-bucket-here/song_data"
        )
        (failure,) = [event for event in result.all_events if event.is_step_failure]
        message = failure.step_failure_data.user_failure_data.description  # type: ignore[union-attr]
        assert message.startswith(
            "song_data could not be listed at s3://no-such-bucket-here/song_data "
            "(SPARKIFY_SONG_DATA): "
        )
        assert "no-such-bucket-here" in message.split("(SPARKIFY_SONG_DATA): ")[1]
    assert not result.success


def test_the_sources_are_upstream_of_staging_and_outside_every_run_of_the_tables() -> None:
    graph = sparkify_dagster.defs.resolve_asset_graph()
    assert AssetKey("log_data") in graph.get(staging_events.key).parent_keys
    assert AssetKey("song_data") in graph.get(staging_songs.key).parent_keys
    for key in raw_data.keys:
        node = graph.get(key)
        assert node.is_observable and not node.is_materializable
        assert node.description
    everything = AssetSelection.all().resolve(graph)  # what `--select '*'` materializes
    assert not everything & raw_data.keys
