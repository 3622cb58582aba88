"""What compaction (``SPARKIFY_COMPACT``) does to a sample-sized dataset on S3: objects and bytes.

    .venv/bin/python -m benchmarks.compact [--songs 14896] [--events 8056] [--slices 4]

Generates the dataset (``sparkify_dagster.generate``), uploads it file by file to a moto S3 server
that this script starts on loopback, compacts songs and events, and prints the figures that
docs/redshift.md quotes. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sparkify_dagster
from sparkify_dagster.ingest.compact import compact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=14_896)
    parser.add_argument("--events", type=int, default=8_056)
    parser.add_argument("--slices", type=int, default=4)
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}", AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-west-2",
    )  # fmt: skip
    import boto3

    s3 = boto3.client("s3")
    for bucket in ("source", "staging"):
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
    try:
        with tempfile.TemporaryDirectory() as folder:
            data = sparkify_dagster.generate(
                Path(folder), songs=args.songs, events=args.events, seed=2018
            )
            paths = sorted(Path(folder).rglob("*.json"))

            def upload(path: Path) -> None:
                key = str(path.relative_to(folder))
                s3.put_object(Bucket="source", Key=key, Body=path.read_bytes())

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(upload, paths))
            print(f"dataset: {data.songs:,} songs, {data.events:,} events, slices {args.slices}")
            for location, table, kind in (
                ("s3://source/song_data", "staging_songs", "songs"),
                ("s3://source/log_data", "staging_events", "events"),
            ):
                started = time.perf_counter()
                result = compact(location, "s3://staging/run", table, kind=kind,
                                 slices=args.slices, s3=s3)  # fmt: skip
                seconds = time.perf_counter() - started
                print(
                    f"{table:>15}: {result.objects_before:>6,} objects {result.bytes_before:>10,} B"
                    f" -> {result.objects_after:,} objects {result.bytes_after:>9,} B gzipped"
                    f" + 1 manifest ({seconds:.1f} s on loopback)"
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
