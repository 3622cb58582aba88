"""``run_failure_alert``: a failed run posts one message to a webhook, naming the run, its job, the
step that failed and why, with a link to the run in the UI.

The message is JSON with a ``text`` (what Slack's incoming webhooks show) and the same facts as
fields (``run_id``, ``job``, ``step``, ``cause``, ``url``) for any other receiver:

    Run 1a2b3c4d (materializing staging_songs) failed at step staging_songs: unsupported target
    'mysql://etl:***@db/dwh': expected duckdb:///path.duckdb, …
    http://127.0.0.1:3000/runs/1a2b3c4d-…

Settings, declared in :mod:`sparkify_dagster.core.settings`: ``SPARKIFY_ALERT_WEBHOOK_URL``, a
secret (it grants posting), shown in the UI by its name only and never written to a log or an
error; ``SPARKIFY_ALERT_BASE_URL``, the UI's address for the link (default
``http://127.0.0.1:3000``). With the webhook set when the code location loads, the sensor runs
from the start; without it, it is stopped, and started anyway it posts nothing.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dagster import (
    ConfigurableResource,
    DagsterEvent,
    DagsterEventType,
    DefaultSensorStatus,
    EnvVar,
    RunFailureSensorContext,
    SkipReason,
    run_failure_sensor,
)
from pydantic import Field

from sparkify_dagster.core.errors import AlertError, ConfigError
from sparkify_dagster.core.settings import (
    ALERT_BASE_URL,
    ALERT_WEBHOOK_URL,
    Setting,
    environ,
    redact,
)

WHERE = f"the alert webhook (${ALERT_WEBHOOK_URL.variable})"
CAUSE_CHARACTERS = 500
ASSETS_NAMED = 5


@dataclass(frozen=True)
class FailedRun:
    """What an alert says of a failed run."""

    run_id: str
    job: str
    assets: tuple[str, ...] = ()
    step: str | None = None
    cause: str = "no cause was recorded"

    @property
    def what(self) -> str:
        """The job, or for a run of assets (Dagster's implicit job, ``__ASSET_JOB``), the assets
        it materialized."""
        if not (self.job.startswith("__") and "asset_job" in self.job.lower()):
            return self.job
        named = ", ".join(self.assets[:ASSETS_NAMED]) or "assets"
        more = len(self.assets) - ASSETS_NAMED
        return f"materializing {named}" + (f" and {more} more" if more > 0 else "")


def one_line(message: str) -> str:
    """The first line of ``message`` that says something, cut to a few hundred characters."""
    line = next((line.strip() for line in message.splitlines() if line.strip()), "")
    return line if len(line) <= CAUSE_CHARACTERS else line[: CAUSE_CHARACTERS - 1] + "…"


def step_cause(event: DagsterEvent) -> str:
    """Why a step failed: a :class:`dagster.Failure`'s description (sparkify's errors name the
    bad thing and the fix), else the exception's class and message."""
    data = event.step_failure_data
    if data is None:
        return one_line(event.message or "")
    if data.user_failure_data is not None and data.user_failure_data.description:
        return one_line(data.user_failure_data.description)
    error = data.error
    while (
        error is not None
        and error.cause is not None
        and (error.cls_name or "").startswith("Dagster")
    ):
        error = error.cause  # Dagster's wrapper around the user's exception
    if error is None:
        return one_line(event.message or "")
    text = one_line(error.message)
    prefix, colon, rest = text.partition(": ")
    return f"{prefix.rsplit('.', 1)[-1]}: {rest}" if colon and "." in prefix else text


def failed_run(context: RunFailureSensorContext) -> FailedRun:
    """The run, the first step that failed and its cause; for a run that failed outside any step
    (its process died, a resource failed to start), the run's own failure message."""
    run = context.dagster_run
    keys = run.asset_selection or {
        entry.dagster_event.asset_key
        for entry in context.instance.all_logs(
            run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        )
        if entry.dagster_event is not None and entry.dagster_event.asset_key is not None
    }
    assets = tuple(sorted(key.to_user_string() for key in keys))
    steps = context.get_step_failure_events()
    if steps:
        first = steps[0]
        return FailedRun(run.run_id, run.job_name or "", assets, first.step_key, step_cause(first))
    cause = one_line(context.failure_event.message or "") or FailedRun.cause
    return FailedRun(run.run_id, run.job_name or "", assets, None, cause)


def alert_payload(failed: FailedRun, base_url: str) -> dict[str, Any]:
    """The JSON an alert posts: ``text`` for Slack, and each fact as a field. URLs' passwords in
    the cause are hidden."""
    link = f"{base_url.rstrip('/')}/runs/{failed.run_id}"
    cause = redact(failed.cause)
    where = f" at step {failed.step}" if failed.step else ""
    text = f"Run {failed.run_id[:8]} ({failed.what}) failed{where}: {cause}\n{link}"
    return {
        "text": text,
        "run_id": failed.run_id,
        "job": failed.job,
        "step": failed.step,
        "cause": cause,
        "url": link,
    }


def post_json(url: str, payload: dict[str, Any], *, timeout: float = 10.0) -> None:
    """POST ``payload`` as JSON to ``url``; a failure is an :class:`AlertError` that names the
    setting and the reason, never the URL."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"{WHERE} must be an http:// or https:// URL")
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise AlertError(f"{WHERE} answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise AlertError(f"{WHERE} could not be reached: {exc.reason}") from None
    except OSError as exc:
        raise AlertError(f"{WHERE} could not be reached: {exc.strerror or exc}") from None


class AlertsResource(ConfigurableResource):
    """Where failure alerts go. Off while ``webhook_url`` is unset."""

    webhook_url: str | None = Field(
        default=None,
        description=(
            "The webhook failed runs are posted to, such as a Slack incoming webhook; a secret. "
            "From SPARKIFY_ALERT_WEBHOOK_URL; unset: no alerts."
        ),
    )
    base_url: str | None = Field(
        default=None,
        description=(
            "The Dagster UI's address, for the link to the run. From SPARKIFY_ALERT_BASE_URL; "
            f"unset: {ALERT_BASE_URL.default}."
        ),
    )
    timeout: float = Field(default=10.0, description="Seconds to wait for the webhook.")

    @property
    def link_base(self) -> str:
        return ALERT_BASE_URL.lookup(self.base_url, env={})

    def post(self, failed: FailedRun) -> dict[str, Any]:
        """Post the alert for ``failed``; what was posted."""
        if not self.webhook_url:
            raise ConfigError(f"{WHERE} is not set")
        payload = alert_payload(failed, self.link_base)
        post_json(self.webhook_url, payload, timeout=self.timeout)
        return payload


def alerts_from_env() -> AlertsResource:
    """The alerts resource with each field from its variable, when that is set."""

    def variable(setting: Setting[Any]) -> EnvVar | None:
        return EnvVar(setting.variable) if environ().get(setting.variable) else None

    return AlertsResource(
        webhook_url=variable(ALERT_WEBHOOK_URL), base_url=variable(ALERT_BASE_URL)
    )


# Dagster needs a sensor's default status when the code location loads.
ALERTS_ON = ALERT_WEBHOOK_URL.lookup() is not None


@run_failure_sensor(
    name="run_failure_alert",
    default_status=DefaultSensorStatus.RUNNING if ALERTS_ON else DefaultSensorStatus.STOPPED,
    description=(
        "Posts each failed run of this code location to SPARKIFY_ALERT_WEBHOOK_URL (Slack or "
        "any JSON webhook): run, job, failed step, its one-line cause and a link to the run "
        "(SPARKIFY_ALERT_BASE_URL). Running from the start when the webhook is set; otherwise "
        "stopped, and posts nothing."
    ),
)
def run_failure_alert(
    context: RunFailureSensorContext, alerts: AlertsResource
) -> SkipReason | None:
    failed = failed_run(context)
    if not alerts.webhook_url:
        unset = ALERT_WEBHOOK_URL.variable
        return SkipReason(f"{unset} is not set: the failure of run {failed.run_id} was not posted")
    alerts.post(failed)
    context.log.info(f"posted the failure of run {failed.run_id} to {WHERE}")
    return None
