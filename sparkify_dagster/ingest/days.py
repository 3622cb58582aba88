"""The day of an event log, from its name: ``log_data/2018/11/2018-11-05-events.json`` is the log
of 2018-11-05, and its day is its partition.

The day is the last ``YYYY-MM-DD`` in the key that is a real date and stands apart from other
digits; a log whose key names none belongs to no day, and staging refuses it by name.
"""

from __future__ import annotations

import re
from datetime import date

from sparkify_dagster.core.epoch import FIRST_INSTANT, LAST_DAY

_DAY = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
# How a day is written in partition keys, in the warehouse and in messages.
DAY_FORMAT = "%Y-%m-%d"
NAMING = "an event log's name carries its day, as in 2018-11-05-events.json"


def day_of(key: str) -> date | None:
    """The day a key names (its last ``YYYY-MM-DD``), if any.

    >>> day_of("log_data/2018/11/2018-11-05-events.json")
    datetime.date(2018, 11, 5)
    >>> day_of("log_data/2018/13/2018-13-45-events.json") is None
    True
    """
    days = _DAY.findall(key)
    if not days:
        return None
    year, month, day = (int(part) for part in days[-1])
    try:
        return date(year, month, day)
    except ValueError:
        return None


def log_day(key: str) -> str | None:
    """The partition key of the log at ``key``: its day, written ``YYYY-MM-DD``, when it names
    one the warehouse holds (1970-01-01 to 9998-12-31).

    >>> log_day("log_data/2018/11/2018-11-05-events.json"), log_day("misc.json")
    ('2018-11-05', None)
    """
    day = day_of(key)
    if day is None or not FIRST_INSTANT.date() <= day <= LAST_DAY.date():
        return None
    return day_key(day)


def day_key(day: date) -> str:
    """``day`` as partition keys and the warehouse write it: ``2018-11-05``."""
    return day.strftime(DAY_FORMAT)
