"""Settings come from flags, then SPARKIFY_* variables, then dwh.cfg, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkify_dagster.core.errors import ConfigError
from sparkify_dagster.core.settings import DEFAULT_TARGET, Settings, redact
from sparkify_dagster.warehouse.engines import duckdb_path


def test_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "dwh.cfg"
    cfg.write_text("[S3]\nSONG_DATA = \"cfg/songs\"\nLOG_DATA='cfg/logs'\n")
    env = {"SPARKIFY_LOG_DATA": "env/logs", "SPARKIFY_TARGET": "env.duckdb"}
    settings = Settings.resolve(song_data="flag/songs", config=cfg, environ=env)
    assert (settings.song_data, settings.log_data, settings.target) == (
        "flag/songs", "env/logs", "env.duckdb",
    )  # fmt: skip
    settings = Settings.resolve(config=cfg, environ={})
    assert (settings.song_data, settings.log_data) == ("cfg/songs", "cfg/logs")
    assert settings.target == DEFAULT_TARGET


def test_neither_means_the_sample_and_one_alone_says_where_it_looked(tmp_path: Path) -> None:
    assert Settings.resolve(environ={}).song_data is None
    with pytest.raises(ConfigError) as caught:
        Settings.resolve(song_data="x", config=tmp_path / "none.cfg", environ={})
    assert "does not exist" in str(caught.value)
    cfg = tmp_path / "dwh.cfg"
    cfg.write_text("[S3]\n")
    with pytest.raises(ConfigError) as caught:
        Settings.resolve(song_data="x", config=cfg, environ={})
    assert "looked at $SPARKIFY_LOG_DATA and [S3] LOG_DATA in" in str(caught.value)


def test_passwords_never_show() -> None:
    url = "postgresql://etl:s3cr3t@db.example:5432/dwh"
    assert redact(url) == "postgresql://etl:***@db.example:5432/dwh"
    settings = Settings.resolve(target=url, environ={})
    assert "s3cr3t" not in repr(settings) and settings.target == url


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("duckdb:///relative.duckdb", "relative.duckdb"),
        ("duckdb:////abs/path.duckdb", "/abs/path.duckdb"),
        ("duckdb:///:memory:", ":memory:"),
        ("plain/file.duckdb", "plain/file.duckdb"),
        ("postgresql://x/y", None),
    ],
)
def test_duckdb_targets(target: str, path: str | None) -> None:
    assert duckdb_path(target) == path


def test_duckdb_target_without_a_file() -> None:
    with pytest.raises(ConfigError, match="has no file"):
        duckdb_path("duckdb://")


@pytest.mark.parametrize("special", [*"@:/?#%", "@:/?#%", "p@ss:w/rd", "%40"])
def test_a_password_with_any_special_character_is_hidden_whole(special: str) -> None:
    secret = f"S3{special}cret"
    for url in (f"postgresql://etl:{secret}@127.0.0.1:1/db", f"redshift://etl:{secret}@h/dev"):
        shown = redact(f"connecting to '{url}' failed")
        assert secret not in shown and "S3" not in shown, shown
        assert shown.startswith("connecting to '") and "etl:***@" in shown, shown
        assert shown.endswith("/db' failed") or shown.endswith("@h/dev' failed"), shown


def test_each_setting_says_where_it_looked(tmp_path: Path) -> None:
    from sparkify_dagster.core.settings import MAX_ERRORS, SLICES

    cfg = tmp_path / "dwh.cfg"
    cfg.write_text("[S3]\n")
    assert MAX_ERRORS.lookup(env={}) == 0 and SLICES.lookup(env={}) == 4
    with pytest.raises(ConfigError, match=r"^\$SPARKIFY_SLICES is '0': give a whole number from 1"):
        SLICES.lookup(env={"SPARKIFY_SLICES": "0"})
    with pytest.raises(ConfigError, match=r"^\$SPARKIFY_MAX_ERRORS is 'x': give a whole number"):
        MAX_ERRORS.lookup("x", env={})
