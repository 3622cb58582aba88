"""``dagster dev`` (webserver and daemon) in a temporary DAGSTER_HOME, driven through the
webserver's GraphQL API the way the UI's buttons drive it.

Runs are launched and awaited with Dagster's own :class:`DagsterGraphQLClient`; the few queries
it has no call for (a run's steps, its events, re-execution, the code location's state) are sent
as they are.

The server runs the project's ``workspace.yaml`` against a copy of its ``dagster.yaml``, from the
temporary home (the instance's storage paths are relative to where Dagster runs), in a process
group of its own: stopping it ends the webserver, the daemon, the code server and any run worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef
from dagster_graphql import DagsterGraphQLClient

from sparkify_dagster.warehouse.model import STAGING_TABLES, STAR_TABLES
from sparkify_dagster_tests.helpers import REPO, days_of, write_instance
from sparkify_dagster_tests.pgserver import free_port

DAGSTER = Path(sys.executable).parent / "dagster"
LOCATION = "sparkify"  # workspace.yaml's location_name
TABLE_ASSETS = [table.name for table in (*STAGING_TABLES, *STAR_TABLES)]
ALL_ASSETS = [*TABLE_ASSETS, "listening_report"]
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}

REEXECUTE = """
mutation Reexecute($params: ReexecutionParams!) {
  launchRunReexecution(reexecutionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
  }
}"""

RUN = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      runId status startTime endTime parentRunId rootRunId stepKeysToExecute
      tags { key value }
      stepStats { stepKey status }
    }
    ... on Error { message }
  }
}"""

LOCATIONS = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError { __typename ... on Error { message } }
      }
    }
  }
}"""

EVENTS = """
query Events($runId: ID!, $after: String) {
  logsForRun(runId: $runId, afterCursor: $after) {
    __typename
    ... on EventConnection {
      cursor hasMore
      events {
        __typename
        ... on MessageEvent { message }
        ... on StepEvent { stepKey }
        ... on MaterializationEvent {
          assetKey { path }
          metadataEntries { label ...Value }
        }
        ... on AssetCheckEvaluationEvent {
          evaluation { checkName success assetKey { path } metadataEntries { label ...Value } }
        }
        ... on ExecutionStepFailureEvent { error { message } }
      }
    }
    ... on Error { message }
  }
}
fragment Value on MetadataEntry {
  ... on IntMetadataEntry { intValue }
  ... on FloatMetadataEntry { floatValue }
  ... on TextMetadataEntry { text }
  ... on PathMetadataEntry { path }
  ... on UrlMetadataEntry { url }
  ... on MarkdownMetadataEntry { mdStr }
}"""


def entry_value(entry: Mapping[str, Any]) -> Any:
    """The value of one GraphQL metadata entry, whatever its type."""
    for field in ("intValue", "floatValue", "text", "path", "url", "mdStr"):
        if field in entry:
            return entry[field]
    return None


class DagsterDev:
    """``dagster dev -w workspace.yaml`` on a free loopback port, with ``env`` added to ours.

    ``command`` runs another front end instead (``dagster dev`` alone, ``dg dev``), from ``cwd``
    (default: the home); ``-h``/``-p`` are added to it. The instance's folders are in the home
    wherever the server runs.
    """

    def __init__(
        self,
        home: Path,
        env: Mapping[str, str],
        command: Sequence[str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        write_instance(home)
        # The warehouse pool's limit set ahead, as docs/deploy.md asks: Dagster gives a pool its
        # default limit only once it has seen the pool, after a first queue pass.
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
            instance.event_log_storage.initialize_concurrency_limit_to_default("warehouse")
        self.command = list(command or [str(DAGSTER), "dev", "-w", str(REPO / "workspace.yaml")])
        self.cwd = cwd or home
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("SPARKIFY_")}
        self.env = {**inherited, "DAGSTER_HOME": str(home), **env}
        self.log = home / "dagster-dev.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.client: DagsterGraphQLClient | None = None
        self.locations: list[str] = []  # every code location's name, once loaded

    def start(self, timeout: float = 180) -> None:
        """Start the server and wait until the UI answers with the code location loaded."""
        for attempt in range(3):
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=60)
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    [*self.command, "-h", "127.0.0.1", "-p", str(port)],
                    cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
            try:
                self._wait_until_loaded(timeout)
                return
            except ChildProcessError:
                self.stop()
                if attempt == 2 or "address already in use" not in self.tail().lower():
                    raise

    def _wait_until_loaded(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ChildProcessError(f"dagster dev exited:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"dagster dev did not load in {timeout} s:\n{self.tail()}")
            try:
                entries = self.graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
            except (urllib.error.URLError, ConnectionError):
                entries = []
            loaded = [e["locationOrLoadError"] for e in entries if e["name"] == LOCATION]
            self.locations = [e["name"] for e in entries]
            if loaded and loaded[0]:
                if loaded[0]["__typename"] != "RepositoryLocation":
                    raise RuntimeError(f"the code location failed to load: {loaded[0]}")
                return
            time.sleep(0.5)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        """End the server's whole process group: SIGTERM, then SIGKILL for what is left."""
        if self.process is None:
            return
        group = self.process.pid  # the group leader: start_new_session
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(group, signal.SIGTERM)
            self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # whatever did not stop in time
        self.process.wait()
        self.process = None

    def __enter__(self) -> DagsterDev:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- GraphQL: what the UI's buttons send ------------------------------------------------

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A query the client has no call for, sent as it is."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        if answer.get("errors"):
            raise AssertionError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]  # type: ignore[no-any-return]

    def launch(
        self,
        assets: Sequence[str] = ALL_ASSETS,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Materialize ``assets`` and their checks for every day the server's logs hold, in one
        run, as "Materialize all" does once its days are chosen; the new run's id."""
        assert self.client is not None, "start the server first"
        days = days_of(Path(self.env["SPARKIFY_LOG_DATA"]))
        return self.client.submit_job_execution(
            "__ASSET_JOB",  # Dagster's implicit job of every asset, as "Materialize" uses
            repository_location_name=LOCATION,
            repository_name="__repository__",
            run_config=dict(run_config or {}),
            tags={**days, **(tags or {})},
            asset_selection=list(assets),
        )

    def reexecute(self, parent_run_id: str, strategy: str = "FROM_FAILURE") -> str:
        """Re-execute a run, as the run page's "Re-execute from failure" does; the new run's id."""
        params = {"parentRunId": parent_run_id, "strategy": strategy}
        result = self.graphql(REEXECUTE, {"params": params})["launchRunReexecution"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return str(result["run"]["runId"])

    def run(self, run_id: str) -> dict[str, Any]:
        run = self.graphql(RUN, {"runId": run_id})["runOrError"]
        assert run["__typename"] == "Run", run
        return run  # type: ignore[no-any-return]

    def status(self, run_id: str) -> DagsterRunStatus:
        assert self.client is not None, "start the server first"
        return self.client.get_run_status(run_id)

    def wait(self, run_id: str, timeout: float = 180) -> dict[str, Any]:
        """The run once it has finished (succeeded, failed or was canceled)."""
        deadline = time.monotonic() + timeout
        while (status := self.status(run_id)) not in FINISHED:
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {status.value} after {timeout} s")
            time.sleep(0.3)
        return self.run(run_id)

    def events(self, run_id: str) -> list[dict[str, Any]]:
        """Every event of a run, as the run page lists them."""
        found: list[dict[str, Any]] = []
        after = None
        while True:
            page = self.graphql(EVENTS, {"runId": run_id, "after": after})["logsForRun"]
            assert page["__typename"] == "EventConnection", page
            found += page["events"]
            if not page["hasMore"]:
                return found
            after = page["cursor"]

    def materializations(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Each asset the run materialized, with its metadata by label."""
        return {
            "/".join(event["assetKey"]["path"]): {
                entry["label"]: entry_value(entry) for entry in event["metadataEntries"]
            }
            for event in self.events(run_id)
            if event["__typename"] == "MaterializationEvent"
        }

    def check_results(self, run_id: str) -> dict[str, bool]:
        """Whether each check the run evaluated passed, by ``asset:check``."""
        return {
            "/".join(e["evaluation"]["assetKey"]["path"]) + ":" + e["evaluation"]["checkName"]: e[
                "evaluation"
            ]["success"]
            for e in self.events(run_id)
            if e["__typename"] == "AssetCheckEvaluationEvent"
        }
