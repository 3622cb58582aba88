"""The cluster jobs against the loopback moto server: in process, and through `dagster job execute`.

Real boto3 over HTTP reaches the moto server through the standard AWS settings only
(``AWS_ENDPOINT_URL`` …, set by the ``aws`` fixture); nothing is patched.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from dagster import (
    DagsterInstance,
    ExecuteInProcessResult,
    JobDefinition,
    ReexecutionOptions,
    execute_job,
    reconstructable,
)

from sparkify_dagster.cluster.iam import S3_READ_ONLY
from sparkify_dagster.definitions import defs
from sparkify_dagster.jobs import provision_redshift, redshift_status, teardown_redshift
from sparkify_dagster.resources import RedshiftClusterResource
from sparkify_dagster_tests.helpers import CLASSIC, dagster, dagster_home, ingress

CIDR = "203.0.113.7/32"
PASSWORD = "Passw0rd"  # CLASSIC's DWH_DB_PASSWORD
FAST_WAIT = {"config": {"poll_seconds": 0.01, "timeout_seconds": 5.0}}
PROVISION = {"ops": {"wait_for_cluster": FAST_WAIT}}
TEARDOWN = {"ops": {"delete_cluster": FAST_WAIT, "delete_security_group": FAST_WAIT}}
TAG = {"Key": "managed-by", "Value": "sparkify"}


@pytest.fixture
def dwh_cfg(tmp_path: Path, aws: str) -> Path:
    """A classic dwh.cfg for a 4-node cluster, in a fresh moto account."""
    path = tmp_path / "dwh.cfg"
    path.write_text(CLASSIC)
    return path


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def run(
    job: JobDefinition,
    cfg: Path,
    instance: DagsterInstance,
    run_config: dict[str, Any] | None = None,
    **resource: Any,
) -> ExecuteInProcessResult:
    return job.execute_in_process(
        run_config=run_config or {},
        resources={"redshift_cluster": RedshiftClusterResource(config=str(cfg), **resource)},
        instance=instance,
        raise_on_error=False,
    )


def logged(instance: DagsterInstance, result: ExecuteInProcessResult) -> list[str]:
    """What the run's steps logged, in order (Dagster's own events left out)."""
    return [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if not entry.is_dagster_event and entry.step_key
    ]


def output_metadata(result: ExecuteInProcessResult, node: str) -> dict[str, Any]:
    (output,) = [e for e in result.events_for_node(node) if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata  # type: ignore[union-attr]
    return {key: value.value for key, value in metadata.items()}


def failure(result: ExecuteInProcessResult, node: str) -> str:
    data = result.failure_data_for_node(node)
    assert data is not None and data.user_failure_data is not None, node
    return str(data.user_failure_data.description)


def tagged_leftovers() -> list[str]:
    """Everything in the account that carries provisioning's tag."""
    clusters = boto3.client("redshift").describe_clusters()["Clusters"]
    groups = boto3.client("ec2").describe_security_groups()["SecurityGroups"]
    iam = boto3.client("iam")
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    return (
        [c["ClusterIdentifier"] for c in clusters if TAG in c.get("Tags", [])]
        + [g["GroupName"] for g in groups if TAG in g.get("Tags", [])]
        + [r for r in roles if TAG in iam.get_role(RoleName=r)["Role"].get("Tags", [])]
    )


def test_provision_again_status_and_teardown(dwh_cfg: Path, instance: DagsterInstance) -> None:
    before = dwh_cfg.read_bytes()
    provisioned = run(provision_redshift, dwh_cfg, instance, PROVISION)
    assert provisioned.success

    role = boto3.client("iam").get_role(RoleName="dwhRole")["Role"]
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"]["Service"] for s in trust] == ["redshift.amazonaws.com"]
    assert TAG in role["Tags"]
    policies = boto3.client("iam").list_attached_role_policies(RoleName="dwhRole")
    assert [p["PolicyArn"] for p in policies["AttachedPolicies"]] == [S3_READ_ONLY]
    cluster = boto3.client("redshift").describe_clusters(ClusterIdentifier="dwhcluster")
    (made,) = cluster["Clusters"]
    assert (made["NodeType"], made["NumberOfNodes"], made["DBName"]) == ("dc2.large", 4, "dwh")
    assert [r["IamRoleArn"] for r in made["IamRoles"]] == [role["Arn"]]
    (group,) = made["VpcSecurityGroups"]
    assert ingress(group["VpcSecurityGroupId"]) == [("tcp", 5439, 5439, CIDR)]

    # dwh.cfg differs only in HOST and ARN; both are the run's metadata too
    host = made["Endpoint"]["Address"]
    expected = before.replace(b"HOST=''", f"HOST='{host}'".encode(), 1).replace(
        b"ARN=''", f"ARN='{role['Arn']}'".encode(), 1
    )
    assert dwh_cfg.read_bytes() == expected
    endpoint = output_metadata(provisioned, "cluster_endpoint")
    assert (endpoint["endpoint"], endpoint["role_arn"], endpoint["port"]) == (
        host,
        role["Arn"],
        5439,
    )
    assert provisioned.output_for_node("cluster_endpoint") == host
    messages = logged(instance, provisioned)
    for line in (
        f"created IAM role dwhRole ({role['Arn']})",
        f"allowed TCP 5439 from {CIDR} only",
        "created cluster dwhcluster (4 x dc2.large)",
        "cluster dwhcluster is available",
    ):
        assert line in messages
    assert not any(PASSWORD in message for message in messages)

    # a second provisioning looks, reports and changes nothing
    again = run(provision_redshift, dwh_cfg, instance, PROVISION)
    assert again.success
    steps = [node.name for node in provision_redshift.nodes]
    assert all(output_metadata(again, step)["changed"] is False for step in steps)
    assert "cluster dwhcluster exists (available)" in logged(instance, again)
    assert not any(m.startswith(("created", "allowed", "wrote")) for m in logged(instance, again))
    assert dwh_cfg.read_bytes() == expected
    assert len(boto3.client("ec2").describe_security_groups()["SecurityGroups"]) == 2

    status = run(redshift_status, dwh_cfg, instance)
    assert status.success and status.output_for_node("cluster_details") == "available"
    details = output_metadata(status, "cluster_details")
    assert details["endpoint"] == host and details["nodes"] == "4 x dc2.large"
    assert details["iam_roles"] == role["Arn"] and details["created_by_sparkify"] is True

    torn = run(teardown_redshift, dwh_cfg, instance, TEARDOWN)
    assert torn.success
    assert tagged_leftovers() == []
    assert boto3.client("redshift").describe_clusters()["Clusters"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []
    gone = run(teardown_redshift, dwh_cfg, instance, TEARDOWN)
    assert gone.success
    assert [m for m in logged(instance, gone) if "gone" in m] == [
        "cluster dwhcluster is already gone",
        "security group sparkify-dwhcluster is already gone",
        "IAM role dwhRole is already gone",
    ]
    missing = run(redshift_status, dwh_cfg, instance)
    assert not missing.success
    assert failure(missing, "cluster_details").startswith(
        "cluster dwhcluster does not exist in region us-west-2: create it with the "
        "provision_redshift job"
    )


def test_teardown_can_keep_a_final_snapshot_and_the_role(
    dwh_cfg: Path, instance: DagsterInstance
) -> None:
    assert run(provision_redshift, dwh_cfg, instance, PROVISION).success
    keep = {
        "ops": {
            "delete_cluster": {"config": {**FAST_WAIT["config"], "final_snapshot": "dwh-final"}},
            "delete_security_group": FAST_WAIT,
            "delete_role": {"config": {"keep_role": True}},
        }
    }
    torn = run(teardown_redshift, dwh_cfg, instance, keep)
    assert torn.success
    snapshots = boto3.client("redshift").describe_cluster_snapshots()["Snapshots"]
    assert [s["SnapshotIdentifier"] for s in snapshots] == ["dwh-final"]
    assert tagged_leftovers() == ["dwhRole"]
    assert "kept IAM role dwhRole (keep_role)" in logged(instance, torn)
    assert run(teardown_redshift, dwh_cfg, instance, TEARDOWN).success
    assert tagged_leftovers() == []


def test_a_dry_run_logs_the_calls_and_changes_nothing(
    dwh_cfg: Path, instance: DagsterInstance
) -> None:
    before = dwh_cfg.read_bytes()
    result = run(provision_redshift, dwh_cfg, instance, PROVISION, dry_run=True)
    assert result.success
    messages = logged(instance, result)
    creates = [m for m in messages if m.startswith("would call redshift.create_cluster(")]
    assert len(creates) == 1 and "MasterUserPassword='***'" in creates[0]
    assert any(m.startswith("would call iam.create_role(RoleName='dwhRole'") for m in messages)
    assert not any(PASSWORD in message for message in messages)
    assert all(output_metadata(result, node.name)["dry_run"] for node in provision_redshift.nodes)
    assert dwh_cfg.read_bytes() == before
    assert boto3.client("redshift").describe_clusters()["Clusters"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []


def test_invalid_settings_fail_together_before_any_aws_call(
    tmp_path: Path, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # any AWS call would fail here
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DWH_PORT", "80")
    path = tmp_path / "dwh.cfg"
    path.write_text(
        CLASSIC.replace("DWH_NUM_NODES=4", "DWH_NUM_NODES=1").replace(
            "DWH_NODE_TYPE=dc2.large", "DWH_NODE_TYPE=x1.tiny"
        )
    )
    result = run(provision_redshift, path, instance, PROVISION)
    assert not result.success
    assert result.get_failed_step_keys() == {"cluster_settings"}
    assert [e.step_key for e in result.get_step_success_events()] == []
    message = failure(result, "cluster_settings")
    assert message.startswith(f"{path} has 3 problems:")
    for problem in (
        "[DWH] DWH_NUM_NODES is 1: a multi-node cluster needs 2 to 128",
        "[DWH] DWH_NODE_TYPE is 'x1.tiny'",
        "$DWH_PORT is 80: Redshift listens on a port from 1150 to 65535",
    ):
        assert problem in message
    assert "cannot reach AWS" not in message and PASSWORD not in message

    monkeypatch.delenv("DWH_PORT")
    path.write_text(CLASSIC.replace("DWH_ALLOWED_CIDR=203.0.113.7/32\n", ""))
    open_door = run(provision_redshift, path, instance, PROVISION)
    assert open_door.get_failed_step_keys() == {"cluster_settings"}
    assert "DWH_ALLOWED_CIDR is not set" in failure(open_door, "cluster_settings")


def test_bad_credentials_fail_the_first_aws_step_and_name_their_source(
    dwh_cfg: Path, instance: DagsterInstance, enforce_auth: Callable[[float], None]
) -> None:
    enforce_auth(0)
    result = run(provision_redshift, dwh_cfg, instance, PROVISION)
    assert not result.success
    assert result.get_failed_step_keys() == {"iam_role", "security_group"}
    for step, code in (("iam_role", "InvalidClientTokenId"), ("security_group", "AuthFailure")):
        assert failure(result, step).startswith(
            "AWS does not accept the credentials from the environment (AWS_ACCESS_KEY_ID and "
            f"AWS_SECRET_ACCESS_KEY) ({code}): renew or correct them"
        )
        assert "testing" not in failure(result, step)
    assert result.is_node_untouched("cluster")
    enforce_auth(float("inf"))
    assert boto3.client("redshift").describe_clusters()["Clusters"] == []


def test_a_cluster_that_stays_paused_times_out_with_each_status_logged(
    dwh_cfg: Path, instance: DagsterInstance
) -> None:
    assert run(provision_redshift, dwh_cfg, instance, PROVISION).success
    written = dwh_cfg.read_bytes()
    boto3.client("redshift").pause_cluster(ClusterIdentifier="dwhcluster")
    short = {
        "ops": {"wait_for_cluster": {"config": {"poll_seconds": 0.05, "timeout_seconds": 0.3}}}
    }
    result = run(provision_redshift, dwh_cfg, instance, short)
    assert not result.success
    assert result.get_failed_step_keys() == {"wait_for_cluster"}
    message = failure(result, "wait_for_cluster")
    assert message.startswith("cluster dwhcluster to be available is still paused after")
    assert "run again with a longer timeout_seconds" in message
    polls = [m for m in logged(instance, result) if m.startswith("waiting for cluster")]
    assert len(polls) >= 2
    assert all(
        p.startswith("waiting for cluster dwhcluster to be available: paused") for p in polls
    )
    assert result.is_node_untouched("cluster_endpoint")
    assert dwh_cfg.read_bytes() == written


def provision_job() -> JobDefinition:
    """The job as the code location serves it (resources bound), for reconstruction."""
    return defs.get_job_def("provision_redshift")


def test_a_failed_run_is_re_executed_from_the_failed_step(
    dwh_cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(dwh_cfg.parent)  # the code location's default config: ./dwh.cfg
    boto3.client("iam").create_role(RoleName="dwhRole", AssumeRolePolicyDocument="{}")
    job = reconstructable(provision_job)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    # Telemetry off, as in the project's dagster.yaml: it would write logs under $DAGSTER_HOME
    # (the working tree, under ./dev test).
    no_telemetry = {"telemetry": {"enabled": False}}
    with DagsterInstance.local_temp(str(home), overrides=no_telemetry) as instance:
        first = execute_job(job, instance, run_config=PROVISION)
        assert not first.success
        assert first.get_failed_step_keys() == {"iam_role"}  # a role made for something else
        assert "exists but Redshift may not assume it" in str(
            first.get_step_failure_events()[0].step_failure_data.user_failure_data.description  # type: ignore[union-attr]
        )
        boto3.client("iam").delete_role(RoleName="dwhRole")
        options = ReexecutionOptions.from_failure(first.run_id, instance)
        again = execute_job(job, instance, run_config=PROVISION, reexecution_options=options)
        assert again.success
        ran = {event.step_key for event in again.get_step_success_events()}
        assert ran == {"iam_role", "cluster", "wait_for_cluster", "cluster_endpoint"}
    assert b"HOST=''" not in dwh_cfg.read_bytes()
    assert not (home / "logs").exists() and not (home / ".telemetry").exists()


def test_the_jobs_are_apart_from_materialize_all() -> None:
    asset_job = defs.resolve_implicit_global_asset_job_def()
    for name in ("provision_redshift", "redshift_status", "teardown_redshift"):
        job = defs.resolve_job_def(name)
        assert job.description and job.executor_def.name == "in_process"
        assert not set(job.graph.node_names()) & set(asset_job.graph.node_names())
        assert all(node.definition.description for node in job.nodes)
        assert job.asset_layer.asset_graph.get_all_asset_keys() == set()
    fields = RedshiftClusterResource.model_fields
    assert not any("password" in name or "secret" in name for name in fields)


# -- the real command line -----------------------------------------------------------------


def test_dagster_job_execute_provisions_reports_and_tears_down(
    dwh_cfg: Path, tmp_path: Path
) -> None:
    env = dagster_home(tmp_path)  # copies os.environ: the aws fixture's settings included
    env["SPARKIFY_CONFIG"] = str(dwh_cfg)
    fast_provision, fast_teardown = tmp_path / "provision.yaml", tmp_path / "teardown.yaml"
    fast_provision.write_text(json.dumps(PROVISION))  # JSON is YAML too
    fast_teardown.write_text(json.dumps(TEARDOWN))
    before = dwh_cfg.read_bytes()

    def job(name: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return dagster(env, "job", "execute", "-m", "sparkify_dagster", "-j", name, *extra)

    provisioned = job("provision_redshift", "-c", str(fast_provision))
    assert provisioned.returncode == 0, provisioned.stderr[-3000:]
    assert "RUN_SUCCESS" in provisioned.stderr
    assert "created cluster dwhcluster (4 x dc2.large)" in provisioned.stderr
    assert PASSWORD not in provisioned.stdout + provisioned.stderr
    (made,) = boto3.client("redshift").describe_clusters()["Clusters"]
    host = made["Endpoint"]["Address"]
    arn = boto3.client("iam").get_role(RoleName="dwhRole")["Role"]["Arn"]
    assert dwh_cfg.read_bytes() == before.replace(b"HOST=''", f"HOST='{host}'".encode()).replace(
        b"ARN=''", f"ARN='{arn}'".encode()
    )
    status = job("redshift_status")
    assert status.returncode == 0, status.stderr[-3000:]
    assert f"cluster dwhcluster is available at {host}:5439 (4 x dc2.large" in status.stderr

    torn = job("teardown_redshift", "-c", str(fast_teardown))
    assert torn.returncode == 0, torn.stderr[-3000:]
    assert tagged_leftovers() == []

    bad = tmp_path / "bad.cfg"
    bad.write_text(CLASSIC.replace("DWH_NUM_NODES=4", "DWH_NUM_NODES=four"))
    env["SPARKIFY_CONFIG"] = str(bad)
    refused = job("provision_redshift")
    assert refused.returncode != 0
    assert "[DWH] DWH_NUM_NODES is 'four': give a whole number" in refused.stderr
    assert "RUN_FAILURE" in refused.stderr
    assert PASSWORD not in refused.stdout + refused.stderr
