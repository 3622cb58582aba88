"""The warehouse's tables as software-defined assets, the raw data they are loaded from, and the
report drawn from them."""

from sparkify_dagster.assets.raw import raw_data
from sparkify_dagster.assets.report import listening_report
from sparkify_dagster.assets.staging import staging_events, staging_songs
from sparkify_dagster.assets.star import artists, songplays, songs, time, users

TABLE_ASSETS = [staging_events, staging_songs, songplays, users, songs, artists, time]

__all__ = [
    "TABLE_ASSETS",
    "artists",
    "listening_report",
    "raw_data",
    "songplays",
    "songs",
    "staging_events",
    "staging_songs",
    "time",
    "users",
]
