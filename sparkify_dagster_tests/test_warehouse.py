"""Engines store what they are given exactly: doubles, 64-bit integers, empty vs null text."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sparkify_dagster
from sparkify_dagster.warehouse.model import STAGING_SONGS

ROWS = st.lists(
    st.tuples(
        st.none() | st.integers(-(2**31), 2**31 - 1),
        st.none() | st.text(max_size=20),
        st.none() | st.floats(allow_nan=False, allow_infinity=False),
        st.none() | st.floats(-180, 180),
        st.none() | st.sampled_from(["", "Memphis, TN", 'say "hi"\n\t\\', "Montréal"]),
        st.none() | st.text(max_size=20),
        st.text(min_size=1, max_size=20),
        st.none() | st.text(max_size=20),
        st.none() | st.floats(allow_nan=False, allow_infinity=False),
        st.none() | st.integers(-(2**31), 2**31 - 1),
        st.text(min_size=1, max_size=30),
        st.none() | st.integers(1, 2**31 - 1),
    ),
    max_size=20,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=ROWS)
def test_load_rows_stores_values_exactly(target: str, rows: list[tuple[Any, ...]]) -> None:
    rows = [tuple(_no_nul(value) for value in row) for row in rows]
    with sparkify_dagster.connect(target) as warehouse, warehouse.transaction():
        warehouse.create_tables([STAGING_SONGS])
        warehouse.execute("DELETE FROM staging_songs")
        assert warehouse.load_rows(STAGING_SONGS, iter(rows)) == len(rows)
        stored = warehouse.query("SELECT * FROM staging_songs")
    assert sorted(stored, key=repr) == sorted(rows, key=repr)


def _no_nul(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL; JSON text never needs it in this data.
    return value.replace("\x00", "") if isinstance(value, str) else value
