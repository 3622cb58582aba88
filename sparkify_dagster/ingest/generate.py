"""Generate a dataset in exactly the published Sparkify layout and format, at any size.

- ``song_data/A/<x>/<y>/TR….json``: one song object per file, formatted like the Million Song
  Dataset subset (``", "``/``": "`` separators, ASCII with ``\\uXXXX`` escapes, no final newline,
  ``year`` 0 when unknown, coordinates often null and locations often ``""``; some artists carry
  different details in different files).
- ``log_data/YYYY/MM/YYYY-MM-DD-events.json``: one file a day of newline-delimited eventsim
  events, sorted by ``ts``, with the published field order, ``\\/`` escapes, ``registration`` as a
  float, ``userId`` a string (``""`` for logged-out visitors), no final newline. Users upgrade
  and downgrade (``Submit Upgrade``/``Submit Downgrade``), so a user's level changes over time.

A share of plays (``match_share``) names a generated song exactly (title, artist name and
duration); the rest name songs outside the catalogue, as in the real data. The same arguments
always write the same bytes.
"""

from __future__ import annotations

import json
import random
import string
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster.ingest.vocabulary import (
    ARTIST_LOCATIONS,
    FIRST_NAMES,
    LAST_NAMES,
    PAGES,
    PLAY_WEIGHT,
    TITLE_SUFFIXES,
    USER_AGENTS,
    USER_LOCATIONS,
    VISITOR_PAGES,
    WORDS,
)

DAY_MS = 86_400_000
ID_CHARS = string.ascii_uppercase + string.digits

EVENT_FIELDS = (
    "artist",
    "auth",
    "firstName",
    "gender",
    "itemInSession",
    "lastName",
    "length",
    "level",
    "location",
    "method",
    "page",
    "registration",
    "sessionId",
    "song",
    "status",
    "ts",
    "userAgent",
    "userId",
)


@dataclass(frozen=True)
class Generated:
    """What :func:`generate` wrote."""

    song_data: Path
    log_data: Path
    songs: int
    events: int
    log_files: int


@dataclass(frozen=True)
class _Song:
    title: str
    artist: str
    duration: float


def generate(
    outdir: str | Path,
    *,
    songs: int,
    events: int,
    seed: int = 0,
    days: int = 30,
    start: date = date(2018, 11, 1),
    match_share: float = 0.3,
) -> Generated:
    """Write ``songs`` song files and ``events`` events spread over ``days`` daily files.

    >>> result = generate(tmp_path, songs=20, events=100, seed=1)  # doctest: +SKIP
    """
    if songs < 0 or events < 0:
        raise ConfigError("songs and events must be 0 or more")
    if days < 1:
        raise ConfigError("days must be at least 1")
    if not 0.0 <= match_share <= 1.0:
        raise ConfigError("match_share must be between 0 and 1")
    rng = random.Random(seed)
    out = Path(outdir)
    catalogue = _write_songs(out / "song_data", songs, rng)
    log_files = _write_events(
        out / "log_data",
        events,
        rng,
        days=days,
        start=start,
        catalogue=catalogue,
        match_share=match_share if catalogue else 0.0,
    )
    return Generated(out / "song_data", out / "log_data", songs, events, log_files)


def _ident(rng: random.Random, prefix: str, length: int = 16) -> str:
    return prefix + "".join(rng.choices(ID_CHARS, k=length))


def _name(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).title()


def _write_songs(folder: Path, count: int, rng: random.Random) -> list[_Song]:
    artist_count = max(1, round(count * 0.67))
    artists = []
    for _ in range(artist_count):
        has_place = rng.random() < 0.45
        artists.append(
            {
                "artist_id": _ident(rng, "AR"),
                "artist_latitude": round(rng.uniform(-60, 70), 5) if has_place else None,
                "artist_longitude": round(rng.uniform(-150, 150), 5) if has_place else None,
                "artist_location": rng.choice(ARTIST_LOCATIONS) if rng.random() < 0.6 else "",
                "artist_name": _name(rng, 1, 3) + ("'s" if rng.random() < 0.03 else ""),
            }
        )
    catalogue = []
    made_folders: set[Path] = set()
    for number in range(count):
        artist = artists[number % artist_count] if number < artist_count else rng.choice(artists)
        details = dict(artist)
        if number >= artist_count and rng.random() < 0.2:
            # The same artist, described differently by another song file.
            details["artist_location"] = rng.choice(("", *ARTIST_LOCATIONS))
            details["artist_latitude"] = details["artist_longitude"] = None
        title = _name(rng, 1, 4) + rng.choice(TITLE_SUFFIXES)
        if rng.random() < 0.02:
            title += " \u00e9t\u00e9"
        duration = round(rng.uniform(30.0, 600.0), 5)
        record = {
            "num_songs": 1,
            "artist_id": details["artist_id"],
            "artist_latitude": details["artist_latitude"],
            "artist_longitude": details["artist_longitude"],
            "artist_location": details["artist_location"],
            "artist_name": details["artist_name"],
            "song_id": _ident(rng, "SO"),
            "title": title,
            "duration": duration,
            "year": 0 if rng.random() < 0.5 else rng.randint(1955, 2010),
        }
        # Track ids start with letters, which name the folders (TRAABCL… is in A/A/B).
        track = "TRA" + "".join(rng.choices(string.ascii_uppercase, k=4)) + _ident(rng, "", 11)
        target = folder / track[2] / track[3] / track[4]
        if target not in made_folders:
            target.mkdir(parents=True, exist_ok=True)
            made_folders.add(target)
        (target / f"{track}.json").write_text(json.dumps(record), encoding="ascii")
        catalogue.append(_Song(title, str(details["artist_name"]), duration))
    return catalogue


def _mojibake(text: str) -> str:
    """``text`` encoded to UTF-8 and read back as Latin-1, twice: a quirk of the real logs."""
    for _ in range(2):
        text = text.encode("utf-8").decode("latin-1")
    return text


def _outside_songs(rng: random.Random, count: int) -> list[_Song]:
    """Songs users play that are not in the catalogue."""
    songs = []
    for _ in range(count):
        artist = _name(rng, 1, 3)
        if rng.random() < 0.02:
            artist = _mojibake(artist + " Caf\u00e9")
        songs.append(_Song(_name(rng, 1, 4), artist, round(rng.uniform(30.0, 600.0), 5)))
    return songs


class _Picker:
    """Draws from ``items`` with a long-tailed popularity (a few hits, many rarely played)."""

    def __init__(self, items: Sequence[Any], rng: random.Random) -> None:
        self.items = items
        self.rng = rng
        self.cumulative = list(accumulate(1.0 / (rank + 1) ** 0.8 for rank in range(len(items))))

    def pick(self) -> Any:
        return self.items[bisect(self.cumulative, self.rng.random() * self.cumulative[-1])]


def _dumps(event: dict[str, Any]) -> bytes:
    line = orjson.dumps(event)
    if not line.isascii():
        line = json.dumps(event, separators=(",", ":")).encode("ascii")
    return line.replace(b"/", b"\\/")


def _write_events(
    folder: Path,
    count: int,
    rng: random.Random,
    *,
    days: int,
    start: date,
    catalogue: list[_Song],
    match_share: float,
) -> int:
    user_count = max(3, round(count / 84))
    first_day_ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()) * 1000
    users = []
    for user_id in range(1, user_count + 1):
        gender = rng.choice("FM")
        users.append(
            {
                "firstName": rng.choice(FIRST_NAMES[gender]),
                "gender": gender,
                "lastName": rng.choice(LAST_NAMES),
                "level": "paid" if rng.random() < 0.35 else "free",
                "location": rng.choice(USER_LOCATIONS),
                "registration": float(
                    first_day_ms - rng.randint(1, 120) * DAY_MS + rng.randint(0, DAY_MS)
                ),
                "userAgent": rng.choice(USER_AGENTS),
                "userId": str(user_id),
            }
        )
    active = _Picker(users, rng)
    hits = _Picker(catalogue, rng) if catalogue else None
    others = _Picker(_outside_songs(rng, max(50, count // 20)), rng)
    page_names = [name for name, _ in PAGES]
    page_weights = list(accumulate(weight for _, weight in PAGES))
    page_total = page_weights[-1] + PLAY_WEIGHT

    files = 0
    session_id = 0
    per_day = [count // days + (1 if day < count % days else 0) for day in range(days)]
    for day, wanted in enumerate(per_day):
        if wanted == 0:
            continue
        day_start = first_day_ms + day * DAY_MS
        lines: list[tuple[int, bytes]] = []
        while len(lines) < wanted:
            session_id += 1
            ts = day_start + rng.randint(0, DAY_MS - 3_600_000)
            remaining = wanted - len(lines)
            if rng.random() < 0.03:
                for item in range(min(remaining, rng.randint(1, 3))):
                    page = rng.choice(VISITOR_PAGES)
                    event = dict.fromkeys(EVENT_FIELDS)
                    event.update(
                        auth="Logged Out",
                        itemInSession=item,
                        level="free",
                        page=page,
                        method="PUT" if page == "Login" else "GET",
                        status=307 if page == "Login" else 200,
                        sessionId=session_id,
                        ts=ts,
                        userId="",
                    )
                    lines.append((ts, _dumps(event)))
                    ts += rng.randint(1_000, 60_000)
                continue
            user = active.pick()
            for item in range(min(remaining, max(1, int(rng.expovariate(1 / 20))))):
                if ts >= day_start + DAY_MS:
                    break
                event_ts = ts
                event = {
                    "artist": None,
                    "auth": "Logged In",
                    "firstName": user["firstName"],
                    "gender": user["gender"],
                    "itemInSession": item,
                    "lastName": user["lastName"],
                    "length": None,
                    "level": user["level"],
                    "location": user["location"],
                    "method": "GET",
                    "page": "NextSong",
                    "registration": user["registration"],
                    "sessionId": session_id,
                    "song": None,
                    "status": 200,
                    "ts": ts,
                    "userAgent": user["userAgent"],
                    "userId": user["userId"],
                }
                roll = rng.random() * page_total
                if roll < PLAY_WEIGHT:
                    song = hits.pick() if hits and rng.random() < match_share else others.pick()
                    event.update(
                        artist=song.artist, song=song.title, length=song.duration, method="PUT"
                    )
                    ts += int(song.duration * 1000)
                else:
                    page = page_names[bisect(page_weights, roll - PLAY_WEIGHT)]
                    event["page"] = page
                    if page in ("Submit Upgrade", "Submit Downgrade"):
                        event.update(method="PUT", status=307)
                        user["level"] = "paid" if page == "Submit Upgrade" else "free"
                    elif page in (
                        "Thumbs Up",
                        "Thumbs Down",
                        "Add Friend",
                        "Logout",
                        "Save Settings",
                    ):
                        event.update(method="PUT", status=307)
                    elif page == "Error":
                        event["status"] = 404
                    ts += rng.randint(1_000, 30_000)
                lines.append((event_ts, _dumps(event)))
        lines.sort(key=lambda pair: pair[0])
        day_date = start + timedelta(days=day)
        target = folder / f"{day_date:%Y}" / f"{day_date:%m}"
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{day_date:%Y-%m-%d}-events.json").write_bytes(
            b"\n".join(line for _, line in lines)
        )
        files += 1
    return files


def main(argv: list[str] | None = None) -> None:
    """``python -m sparkify_dagster.ingest.generate OUTDIR --songs N --events M``: a dataset in
    the published layout, for benchmarks and experiments."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m sparkify_dagster.ingest.generate",
        description=(
            "Write a dataset in the published Sparkify layout and format: OUTDIR/song_data "
            "(one song per file) and OUTDIR/log_data (one file of events a day). The same "
            "arguments always write the same bytes."
        ),
    )
    parser.add_argument(
        "outdir", type=Path, help="folder to write song_data/ and log_data/ into (made if missing)"
    )
    parser.add_argument("--songs", type=int, required=True, metavar="N", help="song files to write")
    parser.add_argument(
        "--events", type=int, required=True, metavar="N", help="events, over all days"
    )
    parser.add_argument(
        "--days", type=int, default=30, metavar="N", help="daily log files (default 30)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="random seed (default 0): same seed, same bytes",
    )
    parser.add_argument(
        "--match-share",
        type=float,
        default=0.3,
        metavar="SHARE",
        help="share of plays that name a generated song exactly (default 0.3); the rest name "
        "songs outside the catalogue, as in the real data",
    )
    args = parser.parse_args(argv)
    try:
        done = generate(
            args.outdir, songs=args.songs, events=args.events, seed=args.seed, days=args.days,
            match_share=args.match_share,
        )  # fmt: skip
    except ConfigError as exc:
        parser.error(str(exc))
    print(f"wrote {done.song_data} and {done.log_data}")


if __name__ == "__main__":
    main()
