"""The star schema's rules, proven on hand-written fixtures and on the published sample."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import sparkify_dagster
from sparkify_dagster.core.errors import SourceError
from sparkify_dagster.warehouse.staging import TooManyRejects
from sparkify_dagster_tests.helpers import SHARED_SAMPLE, event, song, write_events, write_songs

DAY = "log_data/2018/11/2018-11-01-events.json"
T0 = 1541105830796  # 2018-11-01 20:57:10.796 UTC, a Thursday


def rows(target: str, sql: str) -> list[tuple[object, ...]]:
    with sparkify_dagster.connect(target) as warehouse:
        return warehouse.query(sql)


def run(dataset: Path, target: str) -> sparkify_dagster.RunResult:
    return sparkify_dagster.etl(
        song_data=str(dataset / "song_data"), log_data=str(dataset / "log_data"), target=target
    )


def test_every_nextsong_event_is_a_songplay_and_matches_exactly(dataset: Path, target: str) -> None:
    write_songs(
        dataset / "song_data",
        [
            song("SOAAA", "Soul Deep", "ARBOX", "The Box Tops", 148.03546),
            song("SOBBB", "Near Miss", "ARBOX", "The Box Tops", 200.12345),
        ],
    )
    write_events(
        dataset / DAY,
        [
            event(T0, song="Soul Deep", artist="The Box Tops", length=148.03546),
            # Same title and artist, a duration that differs in the last digit: no match.
            event(T0 + 1, song="Near Miss", artist="The Box Tops", length=200.12346),
            event(T0 + 2, song="Elsewhere", artist="Nobody", length=1.0),
            event(T0 + 3, page="Home"),
        ],
    )
    run(dataset, target)
    plays = rows(target, "SELECT songplay_id, song_id, artist_id FROM songplays ORDER BY 1")
    first = 2018_11_01 * 10**10  # the plays of 2018-11-01's log, in time order
    assert plays == [
        (first + 1, "SOAAA", "ARBOX"),
        (first + 2, None, None),
        (first + 3, None, None),
    ]


def test_songplay_columns_and_time_dimension(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_events(
        dataset / DAY,
        [
            event(
                T0,
                sessionId=38,
                level="paid",
                location="Lansing, MI",
                userAgent="UA",
                song="A",
                artist="Art",
                length=1.5,
            ),
        ],
    )
    run(dataset, target)
    (play,) = rows(
        target,
        "SELECT start_time, user_id, level, song_id, artist_id, session_id, "
        "location, user_agent FROM songplays",
    )
    start = dt.datetime(2018, 11, 1, 20, 57, 10, 796000)
    assert play == (start, 7, "paid", "SOAAA", "ARA", 38, "Lansing, MI", "UA")
    assert rows(target, "SELECT * FROM time") == [(start, 20, 1, 44, 11, 2018, 4)]


def test_iso_weekday_runs_monday_1_to_sunday_7(dataset: Path, target: str) -> None:
    sunday = int(dt.datetime(2018, 11, 4, 12, tzinfo=dt.UTC).timestamp() * 1000)
    monday = sunday + 86_400_000
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_events(dataset / DAY, [event(sunday), event(monday)])
    run(dataset, target)
    assert rows(target, 'SELECT weekday, week FROM "time" ORDER BY start_time') == [
        (7, 44),
        (1, 45),
    ]


def test_users_take_the_level_of_their_latest_event(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_events(
        dataset / "log_data/2018/11/2018-11-02-events.json",
        [
            event(T0 + 86_400_000, user_id="7", page="Home", level="paid"),
        ],
    )
    write_events(
        dataset / DAY,
        [
            event(T0, user_id="7", level="free"),
            event(T0 + 10, user_id="7", page="Submit Upgrade", level="free"),
            event(T0 + 20, user_id="9", page="Home", level="paid", firstName="Bo"),
            event(T0 + 30, user_id="9", level="free", firstName="Bo"),
        ],
    )
    run(dataset, target)
    assert rows(target, "SELECT user_id, first_name, level FROM users ORDER BY 1") == [
        (7, "Ada", "paid"),
        (9, "Bo", "free"),
    ]
    # level in songplays is the level at the time of the play
    assert rows(target, "SELECT user_id, level FROM songplays ORDER BY 1") == [
        (7, "free"),
        (9, "free"),
    ]


def test_logged_out_events_make_no_user_but_their_plays_count(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_events(
        dataset / DAY,
        [
            event(T0, user_id="", page="Home"),
            event(T0 + 1, user_id="", page="NextSong"),
            event(T0 + 2, user_id="3", page="Home"),
        ],
    )
    result = run(dataset, target)
    assert result.counts["users"] == 1
    assert rows(target, "SELECT user_id FROM songplays") == [(None,)]
    assert rows(target, "SELECT count(*) FROM staging_events WHERE user_id IS NULL") == [(2,)]


def test_duplicate_artists_keep_the_most_complete_record(dataset: Path, target: str) -> None:
    write_songs(
        dataset / "song_data",
        [
            song("SOAAA", "One", "ARX", "X", 1.0, artist_location=""),
            song("SOBBB", "Two", "ARX", "X", 2.0, artist_location="Memphis, TN"),
            song(
                "SOCCC",
                "Three",
                "ARX",
                "X",
                3.0,
                artist_location="Ohio",
                artist_latitude=35.14968,
                artist_longitude=-90.04892,
            ),
            song("SODDD", "Four", "ARY", "Y", 4.0, artist_location=""),
        ],
    )
    write_events(dataset / DAY, [event(T0)])
    run(dataset, target)
    assert rows(target, "SELECT * FROM artists ORDER BY 1") == [
        ("ARX", "X", "Ohio", 35.14968, -90.04892),
        ("ARY", "Y", None, None, None),
    ]
    assert rows(target, "SELECT song_id, year FROM songs ORDER BY 1")[0] == ("SOAAA", None)


def test_duplicate_songs_make_one_row_and_one_play(dataset: Path, target: str) -> None:
    write_songs(
        dataset / "song_data",
        [
            song("SOAAA", "Twin", "ARA", "Art", 2.5),
            song("SOBBB", "Twin", "ARA", "Art", 2.5),
        ],
    )
    (dataset / "song_data" / "B").mkdir()
    (dataset / "song_data" / "B" / "copy.json").write_text(
        (dataset / "song_data/A/A/A/TRAAA.json").read_text()
    )
    write_events(dataset / DAY, [event(T0, song="Twin", artist="Art", length=2.5)])
    result = run(dataset, target)
    assert result.counts["staging_songs"] == 3
    assert result.counts["songs"] == 2
    assert rows(target, "SELECT song_id FROM songplays") == [("SOAAA",)]


def test_hidden_files_and_folders_are_skipped(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_songs(
        dataset / "song_data" / ".ipynb_checkpoints", [song("SOAAA", "A", "ARA", "Art", 1.5)]
    )
    (dataset / "song_data" / ".hidden.json").write_text("not json at all")
    (dataset / "song_data" / "notes.txt").write_text("not a song")
    write_events(dataset / DAY, [event(T0)])
    write_events(
        dataset / "log_data/.ipynb_checkpoints/2018-11-01-events-checkpoint.json", [event(T0)]
    )
    result = run(dataset, target)
    assert result.counts["staging_songs"] == 1
    assert result.counts["staging_events"] == 1


def test_rerun_gives_the_same_warehouse(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_events(dataset / DAY, [event(T0 + i, sessionId=i) for i in range(5)])
    first = run(dataset, target)
    before = rows(target, "SELECT * FROM songplays ORDER BY 1")
    second = run(dataset, target)
    assert second.counts == first.counts
    assert rows(target, "SELECT * FROM songplays ORDER BY 1") == before


def test_bad_record_names_file_line_and_reason_and_changes_nothing(
    dataset: Path, target: str, tmp_path: Path
) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_events(dataset / DAY, [event(T0)])
    first = run(dataset, target)
    path = dataset / DAY
    path.write_text(path.read_text() + '\n{"ts": "abc", "page": "Home"}')
    with pytest.raises(TooManyRejects) as caught:
        sparkify_dagster.etl(
            song_data=str(dataset / "song_data"),
            log_data=str(dataset / "log_data"),
            target=target,
            rejects_file=tmp_path / "rejects.jsonl",
        )
    assert [str(reject) for reject in caught.value.rejects] == [
        f'{path}:2: ts is "abc", expected epoch milliseconds'
    ]
    assert sparkify_dagster.analyze(target) == first.counts


def test_empty_folder_is_an_error(dataset: Path, target: str) -> None:
    write_events(dataset / DAY, [event(T0)])
    with pytest.raises(SourceError, match="holds no"):
        run(dataset, target)


def test_lineage_columns_point_at_the_source(dataset: Path, target: str) -> None:
    write_songs(dataset / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    write_events(dataset / DAY, [event(T0), event(T0 + 1)])
    run(dataset, target)
    assert rows(target, "SELECT source_file, source_line FROM staging_events ORDER BY 2") == [
        (str(dataset / DAY), 1),
        (str(dataset / DAY), 2),
    ]
    assert rows(target, "SELECT source_file, source_line FROM staging_songs") == [
        (str(dataset / "song_data/A/A/A/TRAAA.json"), None),
    ]


@pytest.mark.skipif(
    not SHARED_SAMPLE.is_dir(), reason="the published sample is not beside the repo"
)
def test_published_sample(target: str) -> None:
    result = sparkify_dagster.etl(
        song_data=str(SHARED_SAMPLE / "song_data"),
        log_data=str(SHARED_SAMPLE / "log_data"),
        target=target,
    )
    assert result.counts == {
        "staging_events": 297,
        "staging_songs": 12,
        "songplays": 266,
        "users": 30,
        "songs": 12,
        "artists": 12,
        "time": 266,
        "load_errors": 0,
        "load_manifest": 15,
        "load_folders": 5,
        "log_files": 3,
        "song_matches": 12,
        "users_pending": 0,
        "times_pending": 0,
    }
