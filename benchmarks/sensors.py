"""How long does a sensor tick take when nothing is new, and how does it grow with the bucket?

Starts a moto S3 server on loopback in its own process, filled directly (no uploads) with:

- ``sparkify-bench``: a year of daily logs ending today (``log_data/``, 365 keys) and 100,000
  song files (``song_data/``) in one bucket;
- ``history-N``: ``log_data/`` only, with N = 30, 365 and 3,650 days of daily logs;
- ``catalogue-N``: ``song_data/`` only, with N = 10,000 and 30,000 song files.

moto answers every listing request by scanning every key of the bucket and sorting the ones under
the prefix (S3 itself is indexed), so the buckets of one size each show how a tick grows with the
history or the catalogue alone.

Then, through real boto3, it times:

- ``new_logs`` (through the sensor itself, ``evaluate_tick`` on one instance, as the daemon
  evaluates it): the first tick, which lists everything, then ticks with nothing new (the newest
  logs), then the ticks of one full listing (a page each, as when the window has passed), with
  the list requests of each; and one look listing everything at once, for comparison;
- ``new_songs`` (the library call the sensor makes): every tick of a whole pass over the
  catalogue with nothing new, each listing at most ``--max-keys`` keys;
- ``dagster_aws.s3.sensor.get_objects`` with nothing new, over the same prefixes.

    python benchmarks/sensors.py [--songs 100000] [--days 365] [--ticks 20] [--max-keys 20000]
                                 [--part all|logs|songs]

Needs the test extra (moto[server]) installed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MAIN = "sparkify-bench"
HISTORIES = (30, 365, 3_650)
CATALOGUES = (10_000, 30_000)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def log_keys(days: int) -> list[str]:
    today = datetime.now(UTC).date()
    return [
        f"log_data/{day:%Y/%m/%Y-%m-%d}-events.json"
        for day in (today - timedelta(days=n) for n in range(days))
    ]


def song_keys(songs: int, rng: random.Random) -> list[str]:
    keys: set[str] = set()
    while len(keys) < songs:
        track = "TR" + "".join(rng.choices(LETTERS, k=3)) + f"{rng.getrandbits(48):012X}"
        keys.add(f"song_data/{track[2]}/{track[3]}/{track[4]}/{track}.json")
    return sorted(keys)


def layout(songs: int, days: int) -> dict[str, list[str]]:
    """Every bucket the server holds, with its keys."""
    rng = random.Random(7)
    buckets = {MAIN: log_keys(days) + song_keys(songs, rng)}
    for history in HISTORIES:
        buckets[f"history-{history}"] = log_keys(history)
    for catalogue in CATALOGUES:
        buckets[f"catalogue-{catalogue}"] = song_keys(catalogue, rng)
    return buckets


def serve(port: int, songs: int, days: int) -> None:
    """The server process: moto on loopback, filled straight into its backend, until stdin
    closes."""
    from moto.backends import get_backend
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.server import ThreadedMotoServer

    backend = get_backend("s3")[DEFAULT_ACCOUNT_ID]["global"]
    started = time.perf_counter()
    objects = 0
    for bucket, keys in layout(songs, days).items():
        backend.create_bucket(bucket, "us-east-1")
        for number, key in enumerate(keys):
            body = json.dumps({"song_id": f"SO{number:08d}", "title": key[-23:-5], "duration": 1.0})
            backend.put_object(bucket, key, body.encode())
            objects += 1
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"ready {objects} {time.perf_counter() - started:.1f}", flush=True)
    sys.stdin.read()
    server.stop()


def start_server(port: int, songs: int, days: int) -> subprocess.Popen[str]:
    command = [sys.executable, __file__, "--serve", str(port), "--songs", str(songs)]
    server = subprocess.Popen(
        [*command, "--days", str(days)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline().split()
    if not line or line[0] != "ready":
        server.kill()
        raise SystemExit("the moto server did not start")
    print(f"server holds {int(line[1]):,} objects (filled in {float(line[2]):.0f} s)")
    urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=10).close()
    return server


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--ticks", type=int, default=20, help="ticks timed per log bucket")
    parser.add_argument("--max-keys", type=int, default=20_000, help="song keys per tick")
    parser.add_argument("--part", choices=("all", "logs", "songs"), default="all")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # The partitions span every day of the logs (they end today), read when the sensors load.
    today = datetime.now(UTC).date()
    os.environ.setdefault(
        "SPARKIFY_FIRST_DAY", f"{today - timedelta(days=max(HISTORIES)):%Y-%m-%d}"
    )
    os.environ.setdefault("SPARKIFY_LAST_DAY", f"{today:%Y-%m-%d}")
    if args.serve:
        serve(args.serve, args.songs, args.days)
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from loopback import use_loopback_aws
    from s3_vs_sync import free_port

    port = free_port()
    use_loopback_aws(f"http://127.0.0.1:{port}")
    server = start_server(port, args.songs, args.days)
    try:
        report(args)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)


def report(args: argparse.Namespace) -> None:
    logging.disable(logging.INFO)  # the ticks' own log lines
    if args.part != "songs":
        print(f"\nnew_logs, nothing new ({args.ticks} ticks each; the first tick lists everything)")
        print(f"{'bucket':<16} {'days':>6} {'first s':>8} {'median s':>9} {'max s':>7} "
              f"{'req':>4} {'full ticks':>10} {'full max s':>11} {'full req':>9} "
              f"{'all-at-once s':>14} {'get_objects s':>14}")  # fmt: skip
        rows = [(f"history-{days}", days) for days in HISTORIES] + [(MAIN, args.days)]
        for bucket, days in rows:
            logs = bench_logs(bucket, args.ticks)
            median = statistics.median(logs.ticks)
            print(f"{bucket:<16} {days:>6,} {logs.first:>8.3f} {median:>9.3f} "
                  f"{max(logs.ticks):>7.3f} {logs.requests:>4} {len(logs.full):>10} "
                  f"{max(logs.full):>11.3f} {'/'.join(map(str, logs.full_requests)):>9} "
                  f"{logs.at_once:>14.3f} {logs.listing:>14.2f}")  # fmt: skip
    if args.part != "logs":
        print(f"\nnew_songs, nothing new (at most {args.max_keys:,} keys per tick)")
        print(f"{'bucket':<16} {'songs':>8} {'ticks/pass':>11} {'median tick s':>14} "
              f"{'pass s':>8} {'get_objects s':>14}")  # fmt: skip
        rows = [(f"catalogue-{songs}", songs) for songs in CATALOGUES] + [(MAIN, args.songs)]
        for bucket, songs in rows:
            ticks, listing = bench_songs(bucket, args.max_keys)
            print(f"{bucket:<16} {songs:>8,} {len(ticks):>11} {statistics.median(ticks):>14.2f} "
                  f"{sum(ticks):>8.1f} {listing:>14.1f}")  # fmt: skip


@dataclass
class LogTicks:
    first: float  # the first tick, which lists everything
    ticks: list[float]  # ticks with nothing new: the newest logs
    requests: int  # list requests of one such tick
    full: list[float]  # the ticks of one full listing, a page each
    full_requests: list[int]
    at_once: float  # one tick listing everything (a full listing in one tick, every tick)
    listing: float  # one get_objects call


def bench_logs(bucket: str, count: int) -> LogTicks:
    """The first tick of ``new_logs``, ``count`` ticks with nothing new, the ticks of one full
    listing (the cursor aged past the window), one tick listing everything, one ``get_objects``
    call. List requests are read from the skip message."""
    from dagster import DagsterInstance, build_sensor_context

    from sparkify_dagster.ingest.watch import Cursor, look_for_events
    from sparkify_dagster.resources import SourcesResource
    from sparkify_dagster.sensors import new_logs

    location = f"s3://{bucket}/log_data"
    sources = SourcesResource(song_data="unused", log_data=location)
    instance = DagsterInstance.ephemeral()  # the daemon's instance lives as long as it does

    def tick(cursor: str | None) -> Any:
        context = build_sensor_context(
            instance=instance, cursor=cursor, resources={"sources": sources}
        )
        return new_logs.evaluate_tick(context)

    def requests(data: Any) -> int:
        found = re.search(r"\((\d+) list requests?\)$", data.skip_message or "")
        return int(found.group(1)) if found else 0

    first, data = timed(lambda: tick(None))
    assert data.run_requests and len(data.run_requests) == 1
    ticks = []
    for _ in range(count):
        seconds, again = timed(lambda: tick(data.cursor))
        assert not again.run_requests
        ticks.append(seconds)
    state = Cursor.load(data.cursor, location)
    assert state.swept is not None
    state.swept -= 3_600  # the window passed: a full listing is due
    cursor, full, full_requests = state.dump(), [], []
    while True:
        seconds, step = timed(lambda: tick(cursor))  # noqa: B023 (called at once)
        assert not step.run_requests
        full.append(seconds)
        full_requests.append(requests(step))
        cursor = step.cursor or cursor
        if Cursor.load(cursor, location).started is None:
            break
    at_once, _ = timed(
        lambda: look_for_events(location, data.cursor, full_listing_minutes=0, page=10**9)
    )
    listing = get_objects_with_nothing_new(bucket, "log_data/")
    return LogTicks(first, ticks, requests(again), full, full_requests, at_once, listing)


def bench_songs(bucket: str, max_keys: int) -> tuple[list[float], float]:
    """The ticks of one whole pass of ``new_songs`` with nothing new, after a first pass, and
    one ``get_objects`` call. The files were written just before, so the looks use
    ``margin=0``: files older than the previous pass, as a catalogue's are, leave no trace in
    the cursor."""
    from sparkify_dagster.ingest.watch import look_for_songs

    location = f"s3://{bucket}/song_data"

    def look(cursor: str | None) -> Any:
        return look_for_songs(location, cursor, max_keys=max_keys, margin=0)

    cursor = None
    while True:  # the first pass finds every file
        cursor = look(cursor).cursor
        if '"resume"' not in (cursor or ""):
            break
    ticks = []
    while True:  # a whole pass with nothing new
        seconds, calm = timed(lambda: look(cursor))  # noqa: B023 (called at once)
        assert not calm.found
        ticks.append(seconds)
        cursor = calm.cursor
        if '"resume"' not in (cursor or ""):
            break
    return ticks, get_objects_with_nothing_new(bucket, "song_data/")


def get_objects_with_nothing_new(bucket: str, prefix: str) -> float:
    """Seconds of one ``get_objects`` call since the newest object: the whole prefix listed."""
    import boto3
    from dagster_aws.s3.sensor import get_objects

    client = boto3.client("s3")
    newest = max(item["LastModified"] for item in get_objects(bucket, prefix, client=client))
    seconds, found = timed(lambda: get_objects(bucket, prefix, None, newest, client))
    assert found == []
    return seconds


if __name__ == "__main__":
    main()
