"""The floors a whole load is measured against; each runs as its own process.

    python benchmarks/floors.py parse SONG_DATA LOG_DATA
        read every input file and decode every record with orjson, and nothing else
    python benchmarks/floors.py duckdb SONG_DATA LOG_DATA WAREHOUSE.duckdb
        the minimal DuckDB pipeline: batch the tiny song files into one file, one ``read_json``
        per staging table, then the product's star SQL; no typing checks, no lineage lines,
        no per-record errors
    python benchmarks/floors.py postgres SONG_DATA LOG_DATA postgresql://…
        the minimal PostgreSQL pipeline: orjson, one COPY FROM STDIN per staging table, the
        product's star SQL (in a throw-away schema)

None is a product: they say how fast the work could be with no safety at all.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from sparkify_dagster.warehouse.engines.base import Warehouse
    from sparkify_dagster.warehouse.model import Table


def json_files(root: str) -> list[str]:
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        found.extend(
            os.path.join(folder, name)
            for name in names
            if name.endswith(".json") and not name.startswith(".")
        )
    return sorted(found)


def parse(song_data: str, log_data: str) -> None:
    records = 0
    for path in json_files(song_data):
        with open(path, "rb") as handle:
            orjson.loads(handle.read())
        records += 1
    for path in json_files(log_data):
        with open(path, "rb") as handle:
            for line in handle.read().split(b"\n"):
                if line.strip():
                    orjson.loads(line)
                    records += 1
    print(f"decoded {records:,} records")


EVENT_COLUMNS = {
    "artist": "VARCHAR",
    "auth": "VARCHAR",
    "firstName": "VARCHAR",
    "gender": "VARCHAR",
    "itemInSession": "INTEGER",
    "lastName": "VARCHAR",
    "length": "DOUBLE",
    "level": "VARCHAR",
    "location": "VARCHAR",
    "method": "VARCHAR",
    "page": "VARCHAR",
    "registration": "DOUBLE",
    "sessionId": "BIGINT",
    "song": "VARCHAR",
    "status": "INTEGER",
    "ts": "BIGINT",
    "userAgent": "VARCHAR",
    "userId": "VARCHAR",
}
SONG_COLUMNS = {
    "num_songs": "INTEGER",
    "artist_id": "VARCHAR",
    "artist_latitude": "DOUBLE",
    "artist_longitude": "DOUBLE",
    "artist_location": "VARCHAR",
    "artist_name": "VARCHAR",
    "song_id": "VARCHAR",
    "title": "VARCHAR",
    "duration": "DOUBLE",
    "year": "INTEGER",
}


def _spec(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"


def reference(song_data: str, log_data: str, warehouse: str) -> None:
    import duckdb

    from sparkify_dagster.warehouse.engines import DuckDBWarehouse
    from sparkify_dagster.warehouse.model import TABLES

    with tempfile.TemporaryDirectory(prefix="sparkify-floor-") as scratch:
        batch = Path(scratch) / "songs.json"
        with open(batch, "wb") as out:
            for path in json_files(song_data):
                with open(path, "rb") as handle:
                    out.write(handle.read().strip() + b"\n")
        engine = DuckDBWarehouse(warehouse, memory_limit="80%")  # DuckDB's default, uncapped
        connection: duckdb.DuckDBPyConnection = engine.connection
        connection.begin()
        engine.create_tables(TABLES, drop=True)
        connection.execute(
            f"""INSERT INTO staging_songs SELECT num_songs, artist_id, artist_latitude,
                artist_longitude, artist_location, artist_name, song_id, title, duration, year,
                filename, NULL
            FROM read_json(?, columns = {_spec(SONG_COLUMNS)}, format = 'newline_delimited',
                           filename = true)""",
            [str(batch)],
        )
        connection.execute(
            f"""INSERT INTO staging_events SELECT artist, auth, firstName, gender, itemInSession,
                lastName, length, level, location, method, page, CAST(registration AS BIGINT),
                sessionId, song, status, ts, userAgent, TRY_CAST(NULLIF(userId, '') AS BIGINT),
                filename, 0
            FROM read_json(?, columns = {_spec(EVENT_COLUMNS)}, format = 'newline_delimited',
                           filename = true)""",
            [os.path.join(log_data, "**", "*.json")],
        )
        connection.execute(
            "INSERT INTO log_files SELECT DISTINCT source_file, "
            "regexp_extract(source_file, '(\\d{4}-\\d{2}-\\d{2})[^/]*$', 1) FROM staging_events"
        )
        _build_star(engine)
        connection.commit()
        (plays,) = connection.execute("SELECT COUNT(*) FROM songplays").fetchone()
        engine.close()
    print(f"built {plays:,} songplays")


def postgres_reference(song_data: str, log_data: str, url: str) -> None:
    """Python parse (orjson) + one ``COPY … FROM STDIN`` per staging table + the star SQL, in a
    schema of its own; no type checks, no per-record errors, lineage by file only. The COPY is
    psycopg's default, text, as it was when this floor was set (the product sends binary)."""
    from sparkify_dagster.warehouse.engines.postgres import PostgresWarehouse
    from sparkify_dagster.warehouse.model import STAGING_EVENTS, STAGING_SONGS, TABLES

    engine = PostgresWarehouse(url)
    connection = engine.connection
    with connection.transaction():
        connection.execute("DROP SCHEMA IF EXISTS sparkify_floor CASCADE")
        connection.execute("CREATE SCHEMA sparkify_floor")
        connection.execute("SET LOCAL search_path = sparkify_floor")
        engine.create_tables(TABLES)
        with connection.cursor() as cursor:
            with cursor.copy(_text_copy(STAGING_SONGS)) as copy:
                for path in json_files(song_data):
                    with open(path, "rb") as handle:
                        record = orjson.loads(handle.read())
                    copy.write_row([*(record.get(key) for key in SONG_COLUMNS), path, None])
            with cursor.copy(_text_copy(STAGING_EVENTS)) as copy:
                for path in json_files(log_data):
                    with open(path, "rb") as handle:
                        lines = handle.read().split(b"\n")
                    for number, line in enumerate(lines, start=1):
                        if not line.strip():
                            continue
                        record = orjson.loads(line)
                        values = [record.get(key) for key in EVENT_COLUMNS]
                        registration = record.get("registration")
                        values[11] = None if registration is None else int(registration)
                        values[17] = int(record["userId"]) if record.get("userId") else None
                        copy.write_row([*values, path, number])
        connection.execute(
            "INSERT INTO log_files SELECT DISTINCT source_file, "
            "substring(source_file from '(\\d{4}-\\d{2}-\\d{2})[^/]*$') FROM staging_events"
        )
        _build_star(engine)
        ((plays,),) = connection.execute("SELECT COUNT(*) FROM songplays").fetchall()
        connection.execute("DROP SCHEMA sparkify_floor CASCADE")
    engine.close()
    print(f"built {plays:,} songplays")


def _build_star(engine: Warehouse) -> None:
    """The product's star SQL over the whole of staging, every day at once."""
    from sparkify_dagster.warehouse.days import EVERY_DAY
    from sparkify_dagster.warehouse.transform import BUILD_ORDER, table_statements

    for table in BUILD_ORDER:
        for sql, params in table_statements(engine.dialect, table, EVERY_DAY):
            engine.execute(sql, params)


def _text_copy(table: Table) -> str:
    columns = ", ".join(f'"{name}"' for name in table.column_names)
    return f'COPY "{table.name}" ({columns}) FROM STDIN'


def main(argv: list[str]) -> None:
    if len(argv) == 3 and argv[0] == "parse":
        parse(argv[1], argv[2])
    elif len(argv) == 4 and argv[0] == "duckdb":
        reference(argv[1], argv[2], argv[3])
    elif len(argv) == 4 and argv[0] == "postgres":
        postgres_reference(argv[1], argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
