"""What the report shows, as plain values: the queries fill it, the presentation draws it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DASH = "\u2013"  # an en dash: ranges and missing values
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SESSION_BUCKETS = {
    1: "one play",
    2: "< 10 min",
    3: f"10{DASH}30 min",
    4: f"30{DASH}60 min",
    5: f"1{DASH}2 h",
    6: f"2{DASH}4 h",
    7: "4 h +",
}


@dataclass(frozen=True)
class Overview:
    plays: int
    matched_plays: int
    listeners: int
    sessions: int
    first_play: dt.datetime | None
    last_play: dt.datetime | None
    median_session_plays: float | None
    median_session_minutes: float | None

    @property
    def unmatched_plays(self) -> int:
        return self.plays - self.matched_plays

    @property
    def coverage(self) -> float | None:
        """Share of plays matched to a catalogue song, ``None`` without plays."""
        return self.matched_plays / self.plays if self.plays else None


@dataclass(frozen=True)
class Day:
    day: dt.date
    plays: int
    active_users: int
    free_plays: int
    paid_plays: int


@dataclass(frozen=True)
class LevelChanges:
    day: dt.date
    upgrades: int
    downgrades: int


@dataclass(frozen=True)
class Ranked:
    """One row of a top-N list: ``name`` (and ``detail``, e.g. the artist of a song)."""

    name: str
    detail: str
    plays: int
    listeners: int


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, as plain values (see the queries in ``sql/report``)."""

    warehouse: str
    overview: Overview
    days: list[Day]
    heatmap: list[list[int]]  # [weekday 0 = Monday][hour 0-23] -> plays
    top_songs: list[Ranked]
    top_artists: list[Ranked]
    level_plays: dict[str, tuple[int, int]]  # level -> (plays, listeners)
    level_users: dict[str, int]  # latest level -> users
    level_changes: list[LevelChanges]
    sessions: list[tuple[str, int, int]]  # (length, sessions, plays)
    states: list[Ranked]  # name = state name, detail = code
    unknown_state_plays: int  # plays whose location names no US state (or no location)
    user_agents: list[Ranked]  # name = browser, detail = operating system
    platforms: list[tuple[str, int]]  # (operating system, plays)

    @property
    def empty(self) -> bool:
        return self.overview.plays == 0
