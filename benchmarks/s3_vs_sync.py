"""Is a load straight from S3 at least as fast as ``aws s3 sync`` then a local load?

Starts a moto S3 server on loopback (its own process), uploads a generated dataset at the
published size (15,000 song files, 30 daily logs), then times, in one run:

- A: ``sparkify etl --song-data s3://… --log-data s3://…``
- B: ``aws s3 sync`` of both prefixes to a folder, then ``sparkify etl`` of that folder

and prints both times, the ratio A / B (goal: ≤ 1.0) and objects per second. Both sides talk to
the same server through the standard AWS settings (``AWS_ENDPOINT_URL``), and the script checks
that both warehouses hold the same row counts.

    python benchmarks/s3_vs_sync.py [--songs 15000] [--events 8056] [--days 30] [--repeat 1]

Needs the ``aws`` CLI on PATH and the test extra (moto[server]) installed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config
from loopback import use_loopback_aws

import sparkify_dagster

BUCKET = "sparkify-bench"
# One whole load through the library (what the staging and star assets do), as its own process.
ETL = (
    "import sys, sparkify_dagster; "
    "sparkify_dagster.etl(song_data=sys.argv[1], log_data=sys.argv[2], target=sys.argv[3], "
    "checks=False)"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_moto(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the moto server did not start within 30 s")


def upload(folder: Path, prefix: str) -> int:
    s3 = boto3.client("s3", config=Config(max_pool_connections=32))
    paths = sorted(path for path in folder.rglob("*") if path.is_file())

    def put(path: Path) -> None:
        key = f"{prefix}/{path.relative_to(folder).as_posix()}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(put, paths))
    return len(paths)


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def etl(song_data: str, log_data: str, target: str) -> list[str]:
    return [sys.executable, "-c", ETL, song_data, log_data, target]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=15_000)
    parser.add_argument("--events", type=int, default=8_056)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side (median)")
    args = parser.parse_args()
    if shutil.which("aws") is None:
        raise SystemExit("the aws CLI is not on PATH: pip install awscli")

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    use_loopback_aws(endpoint)
    server = start_moto(port)
    try:
        with tempfile.TemporaryDirectory(prefix="sparkify-bench-") as scratch:
            work = Path(scratch)
            data = sparkify_dagster.generate(
                work / "data", songs=args.songs, events=args.events, days=args.days, seed=7
            )
            boto3.client("s3").create_bucket(Bucket=BUCKET)
            started = time.perf_counter()
            objects = upload(data.song_data, "song_data") + upload(data.log_data, "log_data")
            print(f"uploaded {objects:,} objects in {time.perf_counter() - started:.1f} s")

            direct, synced = [], []
            for run in range(args.repeat):
                target_a = f"duckdb:///{work / f'direct-{run}.duckdb'}"
                direct.append(
                    timed(etl(f"s3://{BUCKET}/song_data", f"s3://{BUCKET}/log_data", target_a))
                )
                local = work / f"synced-{run}"
                target_b = f"duckdb:///{work / f'synced-{run}.duckdb'}"
                sync = ["aws", "s3", "sync", "--quiet", "--endpoint-url", endpoint]
                synced.append(
                    timed([*sync, f"s3://{BUCKET}/song_data", str(local / "song_data")])
                    + timed([*sync, f"s3://{BUCKET}/log_data", str(local / "log_data")])
                    + timed(etl(str(local / "song_data"), str(local / "log_data"), target_b))
                )
                a, b = sparkify_dagster.analyze(target_a), sparkify_dagster.analyze(target_b)
                if a != b:
                    raise SystemExit(f"the warehouses differ:\n{json.dumps([a, b], indent=1)}")
                shutil.rmtree(local)
    finally:
        server.terminate()
        server.wait(timeout=10)

    a, b = statistics.median(direct), statistics.median(synced)
    print(f"objects: {objects:,} ({args.songs:,} song files, {objects - args.songs} daily logs)")
    print(f"A  sparkify etl from s3://           {a:7.1f} s  {objects / a:7,.0f} objects/s")
    print(f"B  aws s3 sync + sparkify etl local  {b:7.1f} s  {objects / b:7,.0f} objects/s")
    print(f"ratio A / B = {a / b:.2f} (goal <= 1.0)")


if __name__ == "__main__":
    main()
