"""ETL time of the built-in sample (14,896 songs + 8,056 events) on DuckDB and on PostgreSQL.

    .venv/bin/python -m benchmarks.engines [--target postgresql://…] [--repeat 3]

Without ``--target`` it starts a throwaway PostgreSQL server on loopback (as the test suite
does). Each run loads into an empty warehouse; the best of ``--repeat`` runs is reported, after
one warm-up that also generates the sample into the cache.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

import sparkify_dagster


@contextlib.contextmanager
def postgres(target: str | None) -> Iterator[str]:
    if target:
        yield target
        return
    from tests.pgserver import PostgresServer, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL binaries: give --target postgresql://…")
    with PostgresServer(bin_dir) as server:
        yield server.uri() + "postgres"


def fresh_database(base: str, number: int) -> str:
    name = f"bench_{number}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name


def timed(target: str) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    result = sparkify_dagster.etl(target=target)
    return time.perf_counter() - started, result.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="a PostgreSQL URL (default: start a local server)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, postgres(args.target) as base:
        runs: dict[str, list[float]] = {"duckdb": [], "postgresql": []}
        counts: dict[str, dict[str, int]] = {}
        for number in range(args.repeat + 1):  # the first run warms up
            duck = f"duckdb:///{Path(folder) / f'bench_{number}.duckdb'}"
            for engine, target in (("duckdb", duck), ("postgresql", fresh_database(base, number))):
                seconds, counts[engine] = timed(target)
                if number:
                    runs[engine].append(seconds)
        assert counts["duckdb"] == counts["postgresql"], counts
        print(f"rows: {counts['duckdb']}")
        for engine, seconds in runs.items():
            print(f"{engine:>10}: best {min(seconds):.2f} s of {args.repeat} "
                  f"({', '.join(f'{s:.2f}' for s in seconds)})")  # fmt: skip


if __name__ == "__main__":
    main()
