"""Whatever staging accepts, every later step carries: the star builds, the checks pass and the
report renders, on each engine.

Event records come with arbitrary values in every field (extreme integers and floats, numbers as
strings, any text), each staged or rejected by the parser; the rest of the run must then hold
whatever was staged. ``level`` and ``gender`` keep to their accepted values (or null): the
accepted-values checks exist to flag anything else, which they do without stopping a step.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import sparkify_dagster
from sparkify_dagster.core.epoch import EPOCH_MS_RANGE
from sparkify_dagster.ingest.parse import Rejected, event_results
from sparkify_dagster.report import report
from sparkify_dagster.warehouse.model import GENDERS, LEVELS
from sparkify_dagster_tests.helpers import event, song, write_songs

FIRST, LAST = EPOCH_MS_RANGE
YEAR_9999 = LAST + 1 + 150 * 86_400_000  # 9999-05-31
YEAR_39996 = 1_200_000_000_000_000
EPOCH_EXTREMES = [
    -(2**63), -1, FIRST, 1, 1_541_105_830_796, 10**14 - 1, LAST, LAST + 1, YEAR_9999,
    YEAR_39996, 9_223_372_036_854_775, 9_300_000_000_000_000, 2**63 - 1, 2**63,
]  # fmt: skip


def rarely(
    exception: st.SearchStrategy[Any], rule: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """``rule``, and one time in ten ``exception``."""
    return st.integers(0, 9).flatmap(lambda n: exception if n == 0 else rule)


def spelled(numbers: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``numbers`` as JSON numbers, or now and then as numeric strings."""
    return numbers | numbers.map(str)


floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [5e-324, -0.0, 1.7976931348623157e308, 9.3e15, float(LAST), float(LAST + 1)]
)


def integers(low: int, high: int) -> st.SearchStrategy[int]:
    """Integers in ``[low, high]``, its ends, and now and then one just beyond or far beyond."""
    ends = st.sampled_from([low, high, 0, -1, 1])
    beyond = st.sampled_from([low - 1, high + 1, 2**64, -(2**64)])
    return rarely(beyond, st.integers(low, high) | ends)


int32 = integers(-(2**31), 2**31 - 1)
int64 = integers(-(2**63), 2**63 - 1)
epoch_ms = st.sampled_from(EPOCH_EXTREMES) | integers(FIRST, LAST)
texts = st.none() | st.text(max_size=12) | st.sampled_from(["Mozilla/5.0 (rv:1.0)", "Tulsa, OK"])
odd = st.booleans() | floats | st.text(max_size=4) | st.just("")  # mostly refused


def usually(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``values`` (or null), and now and then an odd value of another type."""
    return rarely(odd, st.none() | values)


EVENTS = st.fixed_dictionaries(
    {
        "artist": texts, "auth": texts, "firstName": texts,
        "gender": st.sampled_from([*GENDERS, None]), "itemInSession": usually(spelled(int32)),
        "lastName": texts, "length": usually(spelled(floats)),
        "level": st.sampled_from([*LEVELS, None]), "location": texts, "method": texts,
        "page": st.sampled_from(["NextSong", "NextSong", "Home"]),
        "registration": usually(spelled(epoch_ms | epoch_ms.map(float))),
        "sessionId": usually(spelled(int64)), "song": texts, "status": usually(int32),
        "ts": spelled(epoch_ms) | epoch_ms.map(float), "userAgent": texts,
        "userId": st.just("") | usually(spelled(int64)),
    }
)  # fmt: skip


def staged_by_the_parser(lines: list[bytes]) -> int:
    return sum(
        not isinstance(result, Rejected) for result in event_results(b"\n".join(lines), "day.json")
    )


@settings(
    max_examples=20,  # with the explicit examples: about 25 warehouses per engine
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=st.lists(EVENTS, min_size=1, max_size=4))
@example(records=[event(LAST), event(FIRST, page="Home"), event(LAST, sessionId=2**63 - 1)])
@example(records=[event(LAST, length=1.7976931348623157e308, itemInSession=2**31 - 1)])
@example(records=[event(9_300_000_000_000_000)])  # past DuckDB's timestamps
@example(records=[event(YEAR_39996)])  # past time.year, a SMALLINT
@example(records=[event(YEAR_9999)])  # past Python's dates, with the report's day arithmetic
@example(records=[event(FIRST), event(LAST)])  # plays from 1970 to 9998 on the report's date axes
def test_whatever_staging_accepts_builds_the_star_passes_the_checks_and_renders(
    tmp_path: Path, target: str, records: list[dict[str, Any]]
) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    write_songs(folder / "song_data", [song("SOAAA", "A", "ARA", "Art", 1.5)])
    lines = [json.dumps(record).encode() for record in records]
    day = folder / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    day.parent.mkdir(parents=True)
    day.write_bytes(b"\n".join(lines))

    result = sparkify_dagster.etl(
        song_data=str(folder / "song_data"),
        log_data=str(folder / "log_data"),
        target=target,
        full_refresh=True,  # one warehouse for every example: each run starts it afresh
        max_errors=len(lines),
        rejects_file=folder / "rejects.jsonl",
    )
    assert result.counts["staging_events"] == staged_by_the_parser(lines)
    assert result.failed_checks == []
    assert [check.check.name for check in sparkify_dagster.check(target) if not check.passed] == []
    rendered = report(target, folder / "report")
    assert rendered.html is not None and rendered.html.stat().st_size > 0
