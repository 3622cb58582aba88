"""The generator writes the published layout and format, deterministically."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import sparkify_dagster
from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster.ingest.generate import EVENT_FIELDS
from sparkify_dagster_tests.helpers import SHARED_SAMPLE

SONG_KEYS = [
    "num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location",
    "artist_name", "song_id", "title", "duration", "year",
]  # fmt: skip


def digest(folder: Path) -> str:
    hasher = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            hasher.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return hasher.hexdigest()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    sparkify_dagster.generate(folder, songs=400, events=5000, days=7, seed=3)
    return folder


def test_same_seed_same_bytes(generated: Path, tmp_path: Path) -> None:
    sparkify_dagster.generate(tmp_path / "again", songs=400, events=5000, days=7, seed=3)
    sparkify_dagster.generate(tmp_path / "other", songs=400, events=5000, days=7, seed=4)
    assert digest(tmp_path / "again") == digest(generated)
    assert digest(tmp_path / "other") != digest(generated)


def test_layout(generated: Path) -> None:
    songs = sorted(
        p.relative_to(generated).as_posix() for p in (generated / "song_data").rglob("*.json")
    )
    assert len(songs) == 400
    for path in songs:
        match = re.fullmatch(
            r"song_data/([A-Z])/([A-Z])/([A-Z])/TR([A-Z])([A-Z])([A-Z])[A-Z0-9]{13}\.json", path
        )
        assert match and match.group(1, 2, 3) == match.group(4, 5, 6), path
    logs = sorted(
        p.relative_to(generated).as_posix() for p in (generated / "log_data").rglob("*.json")
    )
    assert logs == [f"log_data/2018/11/2018-11-{day:02d}-events.json" for day in range(1, 8)]


def test_song_files_look_like_the_published_ones(generated: Path) -> None:
    for path in list((generated / "song_data").rglob("*.json"))[:50]:
        text = path.read_text(encoding="ascii")
        record = json.loads(text)
        assert list(record) == SONG_KEYS
        assert text == json.dumps(record)  # ", " and ": " separators, \\u escapes
        assert not text.endswith("\n")
        assert record["num_songs"] == 1 and isinstance(record["duration"], float)
        assert re.fullmatch(r"SO[A-Z0-9]{16}", record["song_id"])
        assert re.fullmatch(r"AR[A-Z0-9]{16}", record["artist_id"])


def test_events_look_like_the_published_ones(generated: Path) -> None:
    events = []
    for path in sorted((generated / "log_data").rglob("*.json")):
        data = path.read_bytes()
        assert not data.endswith(b"\n") and data.isascii()
        lines = data.split(b"\n")
        assert b"/" not in data.replace(b"\\/", b"")
        records = [json.loads(line) for line in lines]
        assert [r["ts"] for r in records] == sorted(r["ts"] for r in records)
        events += records
    assert len(events) == 5000
    assert all(list(r) == list(EVENT_FIELDS) for r in events)
    pages = Counter(r["page"] for r in events)
    assert 0.7 < pages["NextSong"] / len(events) < 0.9
    assert {"Home", "Submit Upgrade", "Submit Downgrade"} <= set(pages)
    for r in events:
        assert isinstance(r["userId"], str) and isinstance(r["ts"], int)
        if r["userId"] == "":
            assert r["auth"] == "Logged Out" and r["registration"] is None
        else:
            assert isinstance(r["registration"], float)
        if r["page"] == "NextSong":
            assert isinstance(r["length"], float) and r["song"] and r["artist"]
        else:
            assert r["length"] is r["song"] is r["artist"] is None
    assert any(r["userId"] == "" for r in events)
    levels: dict[str, set[str]] = {}
    for r in events:
        levels.setdefault(r["userId"], set()).add(r["level"])
    assert any(len(seen) == 2 for user, seen in levels.items() if user)


@pytest.mark.skipif(
    not SHARED_SAMPLE.is_dir(), reason="the published sample is not beside the repo"
)
def test_same_fields_and_types_as_the_published_sample(generated: Path) -> None:
    def shape(records: list[dict[str, object]]) -> dict[str, set[str]]:
        kinds: dict[str, set[str]] = {}
        for record in records:
            for key, value in record.items():
                kinds.setdefault(key, set()).add(type(value).__name__)
        return kinds

    def events(root: Path) -> list[dict[str, object]]:
        return [
            json.loads(line) for p in root.rglob("*.json") for line in p.read_text().splitlines()
        ]

    assert shape(events(generated / "log_data")) == shape(events(SHARED_SAMPLE / "log_data"))
    published = [json.loads(p.read_text()) for p in (SHARED_SAMPLE / "song_data").rglob("*.json")]
    ours = [json.loads(p.read_text()) for p in (generated / "song_data").rglob("*.json")]
    assert set(shape(published)) == set(shape(ours))
    for key, kinds in shape(published).items():
        assert kinds <= shape(ours)[key], key


def test_match_share_controls_matched_plays(tmp_path: Path) -> None:
    for share, low, high in ((0.0, 0.0, 0.0), (0.5, 0.4, 0.6), (1.0, 0.97, 1.0)):
        folder = tmp_path / str(share)
        sparkify_dagster.generate(folder, songs=200, events=2000, days=2, seed=1, match_share=share)
        result = sparkify_dagster.etl(
            song_data=str(folder / "song_data"),
            log_data=str(folder / "log_data"),
            target=f"duckdb:///{folder / 'w.duckdb'}",
        )
        assert result.failed_checks == []
        with sparkify_dagster.connect(f"duckdb:///{folder / 'w.duckdb'}") as warehouse:
            ((matched,),) = warehouse.query(
                "SELECT AVG(CASE WHEN song_id IS NULL THEN 0 ELSE 1 END) FROM songplays"
            )
        assert low <= matched <= high, share


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="match_share must be between 0 and 1"):
        sparkify_dagster.generate("x", songs=1, events=1, match_share=2)


def test_the_generator_runs_as_a_module(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "sparkify_dagster.ingest.generate", str(tmp_path)]
    done = subprocess.run([*command, "--songs", "3", "--events", "20", "--days", "2"],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "song_data").rglob("*.json"))) == 3
    assert len(list((tmp_path / "log_data").rglob("*.json"))) == 2
    bad = subprocess.run(
        [*command, "--songs", "-1", "--events", "1"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "songs and events must be 0 or more" in bad.stderr


def test_the_generator_module_explains_every_argument_without_warnings() -> None:
    """``python -m`` with every warning an error: importing the package must not import the
    module being run first (runpy's RuntimeWarning), and each argument has its help."""
    command = [sys.executable, "-W", "error", "-m", "sparkify_dagster.ingest.generate", "--help"]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    options = done.stdout.split("positional arguments:")[1]
    for argument in ("outdir", "--songs N", "--events N", "--days N", "--seed N", "--match-share"):
        line = next(line for line in options.splitlines() if line.strip().startswith(argument))
        assert len(line.split()) > len(argument.split()), f"{argument} has no help"
