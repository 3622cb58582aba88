"""Alerts: a failed run posts the run, its job, the failed step and the cause, with a link, to a
webhook on loopback; with no webhook set, nothing is posted and the sensor starts stopped."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    DagsterInstance,
    RunFailureSensorContext,
    SkipReason,
    build_run_status_sensor_context,
    job,
    materialize,
    op,
)

import sparkify_dagster
from sparkify_dagster.alerts import (
    AlertsResource,
    FailedRun,
    alert_payload,
    post_json,
    run_failure_alert,
)
from sparkify_dagster.assets import staging_songs
from sparkify_dagster.core.errors import AlertError, ConfigError
from sparkify_dagster.resources import SourcesResource, WarehouseResource

SECRET_PATH = "/services/T000/B000/s3cr3tT0ken"


class Webhook:
    """An HTTP server on 127.0.0.1 that records what is posted and answers ``status``."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.status = 200
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                assert self.headers["Content-Type"] == "application/json"
                webhook.posted.append(json.loads(self.rfile.read(length)))
                webhook.paths.append(self.path)
                self.send_response(webhook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.server.shutdown()
        hook.server.server_close()


def failure_context(
    instance: DagsterInstance, result: Any, alerts: AlertsResource
) -> RunFailureSensorContext:
    """The sensor's context for the failed run of ``result``, as the daemon builds it."""
    return build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alerts": alerts},
    ).for_run_failure()


@pytest.fixture
def bad_target_run(tmp_path: Path) -> tuple[DagsterInstance, Any]:
    """A real failed run: staging_songs against a target no engine takes, with a password."""
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [staging_songs],
        resources={
            "warehouse": WarehouseResource(target="mysql://etl:s3cr@t@db/dwh"),
            "sources": SourcesResource(song_data=str(tmp_path), log_data=str(tmp_path)),
        },
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    return instance, result


def test_a_failed_run_posts_its_job_step_cause_and_link(
    webhook: Webhook, bad_target_run: tuple[DagsterInstance, Any]
) -> None:
    instance, result = bad_target_run
    alerts = AlertsResource(webhook_url=webhook.url, base_url="http://dagster.example:3000/")
    assert run_failure_alert(failure_context(instance, result, alerts)) is None

    (posted,) = webhook.posted
    run_id = result.run_id
    # the staging step's own message, its password hidden
    cause = "unsupported target 'mysql://etl:***@db/dwh': expected duckdb:///path.duckdb"
    assert posted["run_id"] == run_id and posted["job"] == result.dagster_run.job_name
    assert posted["step"] == "staging_songs"
    assert posted["cause"].startswith(cause) and "\n" not in posted["cause"]
    assert posted["url"] == f"http://dagster.example:3000/runs/{run_id}"
    assert posted["text"] == (
        f"Run {run_id[:8]} (materializing staging_songs) failed at step staging_songs: "
        f"{posted['cause']}\n{posted['url']}"
    )
    assert webhook.paths == [SECRET_PATH]
    assert "s3cr@t" not in json.dumps(posted) and "s3cr3tT0ken" not in json.dumps(posted)


def test_with_no_webhook_nothing_is_posted(
    webhook: Webhook, bad_target_run: tuple[DagsterInstance, Any]
) -> None:
    instance, result = bad_target_run
    skipped = run_failure_alert(failure_context(instance, result, AlertsResource()))
    assert isinstance(skipped, SkipReason)
    assert skipped.skip_message == (
        f"SPARKIFY_ALERT_WEBHOOK_URL is not set: the failure of run {result.run_id} was not posted"
    )
    assert webhook.posted == []


@op
def divide() -> float:
    return 1 / 0


@job
def arithmetic() -> None:
    divide()


def test_a_job_s_exception_is_named_by_its_class_and_the_link_defaults_to_the_local_ui(
    webhook: Webhook,
) -> None:
    instance = DagsterInstance.ephemeral()
    result = arithmetic.execute_in_process(instance=instance, raise_on_error=False)
    alerts = AlertsResource(webhook_url=webhook.url)
    run_failure_alert(failure_context(instance, result, alerts))
    (posted,) = webhook.posted
    assert posted["job"] == "arithmetic" and posted["step"] == "divide"
    assert posted["cause"] == "ZeroDivisionError: division by zero"
    assert posted["text"].startswith(f"Run {result.run_id[:8]} (arithmetic) failed at step divide")
    assert posted["url"] == f"http://127.0.0.1:3000/runs/{result.run_id}"


def test_a_webhook_that_fails_is_an_error_without_its_url(webhook: Webhook) -> None:
    payload = alert_payload(FailedRun("0123456789", "j", step="s", cause="c"), "http://ui")
    webhook.status = 500
    with pytest.raises(AlertError) as raised:
        post_json(webhook.url, payload)
    assert str(raised.value) == (
        "the alert webhook ($SPARKIFY_ALERT_WEBHOOK_URL) answered HTTP 500 Internal Server Error"
    )
    webhook.server.shutdown()
    webhook.server.server_close()
    with pytest.raises(AlertError, match="could not be reached") as raised:
        post_json(webhook.url, payload, timeout=2)
    assert "s3cr3tT0ken" not in str(raised.value) and "127.0.0.1" not in str(raised.value)
    with pytest.raises(ConfigError, match=r"must be an http:// or https:// URL"):
        post_json("file:///etc/passwd", payload)


def test_a_run_that_names_many_assets_names_the_first_few() -> None:
    failed = FailedRun("r", "__ASSET_JOB", tuple("abcdefg"), None, "lost")
    assert failed.what == "materializing a, b, c, d, e and 2 more"
    assert (
        alert_payload(failed, "http://ui")["text"]
        == "Run r (materializing a, b, c, d, e and 2 more) failed: lost\nhttp://ui/runs/r"
    )


SENSOR_STATE = """
import sparkify_dagster
sensor = sparkify_dagster.defs.resolve_sensor_def("run_failure_alert")
alerts = sparkify_dagster.defs.resources["alerts"]
print(sensor.default_status.value, *(getattr(field, "env_var_name", field)
      for field in (alerts.webhook_url, alerts.base_url)))
"""


@pytest.mark.parametrize(
    ("env", "shown"),
    [
        ({}, "STOPPED None None"),
        (
            {
                "SPARKIFY_ALERT_WEBHOOK_URL": "https://hooks.example/x",
                "SPARKIFY_ALERT_BASE_URL": "u",
            },
            "RUNNING SPARKIFY_ALERT_WEBHOOK_URL SPARKIFY_ALERT_BASE_URL",
        ),
    ],
)
def test_the_sensor_runs_from_the_start_only_with_a_webhook(
    env: dict[str, str], shown: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SENSOR_STATE],
        capture_output=True, text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == shown
    assert "hooks.example" not in done.stdout + done.stderr


def test_the_sensor_is_in_the_definitions() -> None:
    assert sparkify_dagster.defs.resolve_sensor_def("run_failure_alert").description
