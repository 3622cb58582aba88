"""Days of event logs as the warehouse sees them: a range of ``YYYY-MM-DD`` keys, and the ids of
their plays.

A play's ``songplay_id`` is its log's day, then its number in that day's time order
(:data:`ID_SPAN` numbers a day): the plays of a range of days are a range of ids, so a day's plays
are found, replaced and counted without reading the others.
"""

from __future__ import annotations

from dataclasses import dataclass

ID_SPAN = 10**10  # ids a day's plays may take: 201811050000000001 is 2018-11-05's first


@dataclass(frozen=True)
class Days:
    """The days from ``first`` to ``last``, both included, written ``YYYY-MM-DD``."""

    first: str
    last: str

    def __str__(self) -> str:
        if self == EVERY_DAY:
            return "every day"
        return self.first if self.first == self.last else f"{self.first} to {self.last}"

    @property
    def every(self) -> bool:
        return self == EVERY_DAY

    @property
    def bounds(self) -> tuple[str, str]:
        return self.first, self.last

    @property
    def ids(self) -> tuple[int, int]:
        """The first and last songplay_id the plays of these days may have.

        >>> Days("2018-11-05", "2018-11-06").ids
        (201811050000000000, 201811069999999999)
        """
        return _number(self.first) * ID_SPAN, _number(self.last) * ID_SPAN + ID_SPAN - 1

    def holds(self, day: str) -> bool:
        return self.first <= day <= self.last


def _number(day: str) -> int:
    return int(day.replace("-", ""))


def day_of_id(songplay_id: int) -> str:
    """The day a play's id names.

    >>> day_of_id(201811050000000042)
    '2018-11-05'
    """
    digits = f"{songplay_id // ID_SPAN:08d}"
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"


EVERY_DAY = Days("0001-01-01", "9999-12-31")
# The least id of a play numbered by day: a warehouse holding smaller ones was built before.
FIRST_DAY_ID = Days("1970-01-01", "1970-01-01").ids[0]
