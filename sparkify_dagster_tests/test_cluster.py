"""The Redshift cluster lifecycle against the loopback moto server, through real boto3 over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from sparkify_dagster.cluster.aws import Aws
from sparkify_dagster.cluster.iam import S3_READ_ONLY
from sparkify_dagster.cluster.lifecycle import (
    cluster_endpoint,
    cluster_status,
    create_cluster,
    delete_cluster,
)
from sparkify_dagster.core.errors import (
    AwsAccessDeniedError,
    AwsCredentialsError,
    AwsParameterError,
    ClusterStuckError,
    ConfigError,
    ResourceConflictError,
)
from sparkify_dagster_tests.helpers import CLASSIC, ingress

FAST = {"delay": 0.01, "timeout": 5.0}
CIDR = "203.0.113.7/32"


@pytest.fixture
def dwh_cfg(tmp_path: Path, aws: str) -> Path:
    """A classic dwh.cfg for a 4-node cluster, in a fresh moto account."""
    path = tmp_path / "dwh.cfg"
    path.write_text(CLASSIC)
    return path


def the_cluster() -> dict[str, Any]:
    found = boto3.client("redshift").describe_clusters(ClusterIdentifier="dwhcluster")
    return dict(found["Clusters"][0])


def test_create_endpoint_delete(dwh_cfg: Path) -> None:
    result = create_cluster(dwh_cfg, **FAST)

    role = boto3.client("iam").get_role(RoleName="dwhRole")["Role"]
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"]["Service"] for s in trust] == ["redshift.amazonaws.com"]
    assert {"Key": "managed-by", "Value": "sparkify"} in role["Tags"]
    policies = boto3.client("iam").list_attached_role_policies(RoleName="dwhRole")
    assert [p["PolicyArn"] for p in policies["AttachedPolicies"]] == [S3_READ_ONLY]
    cluster = the_cluster()
    assert (cluster["NodeType"], cluster["NumberOfNodes"], cluster["DBName"]) == (
        "dc2.large",
        4,
        "dwh",
    )
    assert [r["IamRoleArn"] for r in cluster["IamRoles"]] == [role["Arn"]]
    (group,) = cluster["VpcSecurityGroups"]
    group_id = group["VpcSecurityGroupId"]
    assert ingress(group_id) == [("tcp", 5439, 5439, CIDR)]
    assert result.changed and result.cluster is not None
    assert result.cluster.status == "available" and result.cluster.managed_by_sparkify
    assert result.warnings == []

    # everything exists: reported, nothing changed
    again = create_cluster(dwh_cfg, **FAST)
    assert not again.changed
    assert "cluster dwhcluster exists (available)" in again.steps
    assert "ingress TCP 5439 from 203.0.113.7/32 is in place" in again.steps
    assert not any(call.operation.startswith(("create", "attach")) for call in again.calls)
    assert len(boto3.client("ec2").describe_security_groups()["SecurityGroups"]) == 2

    # endpoint: HOST and ARN written, every other byte of the file kept
    before = dwh_cfg.read_bytes()
    written = cluster_endpoint(dwh_cfg, **FAST)
    host = cluster["Endpoint"]["Address"]
    assert written.cluster is not None and written.cluster.endpoint == host
    expected = before.replace(b"HOST=''", f"HOST='{host}'".encode(), 1).replace(
        b"ARN=''", f"ARN='{role['Arn']}'".encode(), 1
    )
    assert dwh_cfg.read_bytes() == expected
    assert not cluster_endpoint(dwh_cfg, **FAST).changed
    assert dwh_cfg.read_bytes() == expected

    # endpoint puts the rule back and removes a wider one
    ec2 = boto3.client("ec2")
    rule = {"IpProtocol": "tcp", "FromPort": 5439, "ToPort": 5439}
    ec2.revoke_security_group_ingress(
        GroupId=group_id, IpPermissions=[{**rule, "IpRanges": [{"CidrIp": CIDR}]}]
    )
    ec2.authorize_security_group_ingress(
        GroupId=group_id, IpPermissions=[{**rule, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    fixed = cluster_endpoint(dwh_cfg, **FAST)
    assert ingress(group_id) == [("tcp", 5439, 5439, CIDR)]
    assert "removed ingress from 0.0.0.0/0 (not DWH_ALLOWED_CIDR)" in fixed.steps

    # delete cleans up; deleting again says it is gone
    deleted = delete_cluster(dwh_cfg, **FAST)
    assert deleted.steps[0] == "deleted cluster dwhcluster"
    with pytest.raises(boto3.client("redshift").exceptions.ClusterNotFoundFault):
        the_cluster()
    groups = boto3.client("ec2").describe_security_groups()["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    assert boto3.client("iam").list_roles()["Roles"] == []
    gone = delete_cluster(dwh_cfg, **FAST)
    assert not gone.changed
    assert gone.steps == [
        "cluster dwhcluster is already gone",
        "security group sparkify-dwhcluster is already gone",
        "IAM role dwhRole is already gone",
    ]


def test_keys_in_file_stuck_cluster_snapshot_and_kept_role(dwh_cfg: Path) -> None:
    dwh_cfg.write_text(
        CLASSIC.replace("KEY=\n", "KEY=AKIAFILEKEY\n").replace("SECRET=\n", "SECRET=filesecret\n")
    )
    created = create_cluster(dwh_cfg, **FAST)
    (warning,) = created.warnings
    assert "holds AWS keys in [AWS] KEY and SECRET" in warning
    assert "AKIAFILEKEY" not in warning and "filesecret" not in warning

    redshift = boto3.client("redshift")
    redshift.pause_cluster(ClusterIdentifier="dwhcluster")
    seen: list[str] = []
    with pytest.raises(ClusterStuckError) as raised:
        cluster_endpoint(dwh_cfg, delay=0.01, timeout=0.3, progress=seen.append)
    assert "cluster dwhcluster to be available is still paused after" in str(raised.value)
    assert "with a longer timeout_seconds" in str(raised.value)
    assert raised.value.state == "paused" and raised.value.seconds < 1
    assert seen and seen[0].startswith("waiting for cluster dwhcluster to be available: paused")
    assert b"HOST=''" in dwh_cfg.read_bytes()
    redshift.resume_cluster(ClusterIdentifier="dwhcluster")

    redshift.create_cluster_snapshot(SnapshotIdentifier="taken", ClusterIdentifier="dwhcluster")
    with pytest.raises(AwsParameterError, match=r"AWS rejected redshift:DeleteCluster: .*taken"):
        delete_cluster(dwh_cfg, final_snapshot="taken", **FAST)
    assert the_cluster()["ClusterStatus"] == "available"
    with pytest.raises(ConfigError, match="final_snapshot 'no--good' is not a valid snapshot"):
        delete_cluster(dwh_cfg, final_snapshot="no--good", **FAST)

    delete_cluster(dwh_cfg, final_snapshot="dwhcluster-final", keep_role=True, **FAST)
    snapshots = redshift.describe_cluster_snapshots()["Snapshots"]
    assert sorted(s["SnapshotIdentifier"] for s in snapshots) == ["dwhcluster-final", "taken"]
    assert boto3.client("iam").get_role(RoleName="dwhRole")["Role"]["RoleName"] == "dwhRole"


def trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_what_sparkify_did_not_create_is_left_alone(dwh_cfg: Path) -> None:
    iam = boto3.client("iam")
    iam.create_role(RoleName="dwhRole", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
    with pytest.raises(ResourceConflictError) as raised:
        create_cluster(dwh_cfg, **FAST)
    assert str(raised.value) == (
        "IAM role dwhRole exists but Redshift may not assume it (it trusts ec2.amazonaws.com), "
        "so it serves another purpose: set [DWH] DWH_IAM_ROLE_NAME to a new name, e.g. "
        "sparkify-redshift-s3"
    )
    assert boto3.client("redshift").describe_clusters()["Clusters"] == []
    iam.delete_role(RoleName="dwhRole")

    redshift = boto3.client("redshift")
    redshift.create_cluster(
        ClusterIdentifier="dwhcluster",
        NodeType="dc2.large",
        MasterUsername="dwhuser",
        MasterUserPassword="Passw0rd",
    )
    adopted = create_cluster(dwh_cfg, **FAST)
    assert "cluster dwhcluster exists (available)" in adopted.steps
    assert [w.split(":")[0] for w in adopted.warnings] == [
        "cluster dwhcluster does not use security group sparkify-dwhcluster",
        "cluster dwhcluster does not use IAM role dwhRole",
    ]
    assert the_cluster()["VpcSecurityGroups"] == []
    opened = cluster_endpoint(dwh_cfg, **FAST)
    assert "added security group sparkify-dwhcluster to cluster dwhcluster" in opened.steps
    (group,) = the_cluster()["VpcSecurityGroups"]
    assert ingress(group["VpcSecurityGroupId"]) == [("tcp", 5439, 5439, CIDR)]
    with pytest.raises(ResourceConflictError, match="was not created by sparkify"):
        delete_cluster(dwh_cfg, **FAST)
    assert the_cluster()["ClusterStatus"] == "available"

    redshift.delete_cluster(ClusterIdentifier="dwhcluster", SkipFinalClusterSnapshot=True)
    iam.detach_role_policy(RoleName="dwhRole", PolicyArn=S3_READ_ONLY)
    iam.delete_role(RoleName="dwhRole")
    iam.create_role(RoleName="dwhRole", AssumeRolePolicyDocument=trust("redshift.amazonaws.com"))
    result = delete_cluster(dwh_cfg, **FAST)
    assert "kept IAM role dwhRole: not created by sparkify" in result.steps
    iam.get_role(RoleName="dwhRole")


def test_bad_or_insufficient_credentials_are_named_by_source(
    dwh_cfg: Path, enforce_auth: Callable[[float], None]
) -> None:
    enforce_auth(3)  # three unchecked requests to make a user who may only read roles
    iam = boto3.client("iam")
    iam.create_user(UserName="etl")
    read_only = {"Effect": "Allow", "Action": ["iam:GetRole"], "Resource": "*"}
    iam.put_user_policy(
        UserName="etl",
        PolicyName="read",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [read_only]}),
    )
    key = iam.create_access_key(UserName="etl")["AccessKey"]

    with pytest.raises(AwsCredentialsError) as raised:
        create_cluster(dwh_cfg, **FAST)
    assert str(raised.value).startswith(
        "AWS does not accept the credentials from the environment (AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY) (InvalidClientTokenId)"
    )

    dwh_cfg.write_text(
        CLASSIC.replace("KEY=\n", f"KEY={key['AccessKeyId']}\n").replace(
            "SECRET=\n", f"SECRET='{key['SecretAccessKey']}'\n"
        )
    )
    with pytest.raises(AwsAccessDeniedError) as denied:
        create_cluster(dwh_cfg, **FAST)
    message = str(denied.value)
    assert (denied.value.code, denied.value.action) == ("AccessDenied", "iam:CreateRole")
    assert message.startswith(
        "the credentials from [AWS] KEY and SECRET in dwh.cfg may not call iam:CreateRole"
    )
    assert key["SecretAccessKey"] not in message and key["AccessKeyId"] not in message


def test_no_credentials_says_where_to_put_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached
    path = tmp_path / "dwh.cfg"
    path.write_text(CLASSIC)
    with pytest.raises(AwsCredentialsError, match="no AWS credentials found: run `aws configure`"):
        cluster_status(path)


def test_translate_covers_invalid_node_parameters() -> None:
    from botocore.exceptions import ClientError

    error = ClientError(
        {"Error": {"Code": "InvalidParameterValue", "Message": "Invalid node type: dc9.large"}},
        "CreateCluster",
    )
    translated = Aws(dry_run=True).translate(error, "redshift")
    assert isinstance(translated, AwsParameterError)
    assert str(translated) == (
        "AWS rejected redshift:CreateCluster: Invalid node type: dc9.large "
        "(InvalidParameterValue): correct the [DWH] values in dwh.cfg and run the command again"
    )


# --- the command line -------------------------------------------------------------------------
