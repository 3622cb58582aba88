"""The instants the warehouse holds: the one range every step, from staging to the report, carries.

Staging refuses an epoch-milliseconds value (``ts``, ``registration``) outside it, with the
record's file and line; the model, the engines and the report rely on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# The instants an epoch-milliseconds column (ts, registration) may hold: from 1970-01-01, up to
# and not including 9999-01-01. Every later step holds them: DuckDB's TIMESTAMP counts
# microseconds in a BIGINT (it overflows past 9.2e15 ms, in year 294247), PostgreSQL's and
# Redshift's end in 294276, time.year is a SMALLINT (32767), and the report reads timestamps into
# Python's datetime, which ends with 9999-12-31: a year to spare for its day arithmetic. A
# negative ts is a sign error, not history (eventsim's logs start in 2018).
EPOCH = datetime(1970, 1, 1)
FIRST_INSTANT = EPOCH
END_INSTANT = datetime(9999, 1, 1)  # the first instant past the range
EPOCH_MS_RANGE: tuple[int, int] = (
    (FIRST_INSTANT - EPOCH) // timedelta(milliseconds=1),
    (END_INSTANT - EPOCH) // timedelta(milliseconds=1) - 1,
)  # inclusive: (0, 253370764799999)
LAST_DAY = END_INSTANT - timedelta(days=1)
EPOCH_MS_RANGE_TEXT = f"{FIRST_INSTANT:%Y-%m-%d} to {LAST_DAY:%Y-%m-%d}"  # 1970-01-01 to 9998-12-31
