"""The Redshift cluster's lifecycle: create, status, endpoint, delete — safe to run again.

Provisioning makes three things, each tagged ``managed-by=sparkify`` so that deleting removes
only what sparkify made: an IAM role that Redshift may assume to read S3, a security group that
lets ``DWH_PORT`` in from ``DWH_ALLOWED_CIDR`` only, and the cluster. Each step first looks for
what exists, so a second run reports and changes nothing.

The steps (:func:`ensure_role`, :func:`ensure_security_group`, :func:`ensure_cluster`,
:func:`wait_until_available`, :func:`write_endpoint`; :func:`remove_cluster`,
:func:`remove_security_group`, :func:`remove_role`) take a session from :func:`open_session`;
the Dagster jobs (:mod:`sparkify_dagster.jobs`) run one op per step. :func:`create_cluster`,
:func:`cluster_status`, :func:`cluster_endpoint` and :func:`delete_cluster` chain them for
Python callers.

>>> from sparkify_dagster.cluster.lifecycle import create_cluster, cluster_endpoint
>>> create_cluster("dwh.cfg").cluster.status  # doctest: +SKIP
'available'
>>> cluster_endpoint("dwh.cfg").cluster.endpoint  # doctest: +SKIP
'dwhcluster.abc123.us-west-2.redshift.amazonaws.com'
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sparkify_dagster.cluster.aws import Aws, Call, Progress
from sparkify_dagster.cluster.dwhcfg import (
    ClusterConfig,
    load_cluster_config,
    update_config,
    valid_identifier,
)
from sparkify_dagster.core.errors import (
    AwsError,
    ClusterNotFoundError,
    ConfigError,
    ResourceConflictError,
)

__all__ = [
    "ClusterConfig",
    "ClusterInfo",
    "ClusterResult",
    "check_snapshot_name",
    "cluster_endpoint",
    "cluster_status",
    "create_cluster",
    "delete_cluster",
    "describe_cluster",
    "ensure_cluster",
    "ensure_role",
    "ensure_security_group",
    "group_name",
    "ingress_cidr",
    "load_cluster_config",
    "open_session",
    "remove_cluster",
    "remove_role",
    "remove_security_group",
    "wait_until_available",
    "write_endpoint",
]

TAG_KEY = "managed-by"
TAG_VALUE = "sparkify"
S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
REDSHIFT_SERVICE = "redshift.amazonaws.com"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": REDSHIFT_SERVICE},
            "Action": "sts:AssumeRole",
        }
    ],
}
DEFAULT_TIMEOUT = 1800.0
DEFAULT_DELAY = 15.0
ANYWHERE = "0.0.0.0/0"
_RULE_KEYS = ("IpProtocol", "FromPort", "ToPort")


@dataclass(frozen=True)
class ClusterInfo:
    """What the ``redshift_status`` job shows about a cluster."""

    identifier: str
    status: str
    node_type: str
    nodes: int
    endpoint: str | None
    port: int | None
    database: str
    role_arns: list[str]
    vpc_id: str | None
    security_groups: list[str]
    created_at: str | None
    managed_by_sparkify: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ClusterResult:
    """What a lifecycle command did (``steps``), or in a dry run would call (``calls``)."""

    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    cluster: ClusterInfo | None = None
    changed: bool = False
    dry_run: bool = False


def open_session(
    config: ClusterConfig | str | os.PathLike[str],
    *,
    dry_run: bool = False,
    region: str | None = None,
    profile: str | None = None,
    client_config: Any = None,
) -> tuple[ClusterConfig, Aws, ClusterResult]:
    """The checked settings, an AWS session and an empty result: what every step takes.

    ``region`` (else ``[AWS] REGION``, else the AWS chain) and ``profile`` (else the AWS chain)
    choose the account; ``client_config`` is botocore's (retries, timeouts).
    """
    cfg = config if isinstance(config, ClusterConfig) else load_cluster_config(config)
    aws = Aws(
        region=region or cfg.region,
        access_key=cfg.access_key,
        secret_key=cfg.secret_key,
        profile=profile,
        client_config=client_config,
        dry_run=dry_run,
    )
    result = ClusterResult(calls=aws.calls, dry_run=dry_run)
    if cfg.keys_in_file:
        result.warnings.append(
            f"{cfg.path} holds AWS keys in [AWS] KEY and SECRET; they are used, but keeping keys "
            "in a file is risky: prefer `aws configure`, AWS_PROFILE or an IAM role, and empty "
            "those two keys"
        )
    return cfg, aws, result


def create_cluster(
    config: ClusterConfig | str | os.PathLike[str],
    *,
    allow_anywhere: bool = False,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    delay: float = DEFAULT_DELAY,
    progress: Progress | None = None,
) -> ClusterResult:
    """Make the IAM role, the security group and the cluster that are missing, then wait for it."""
    cfg, aws, result = open_session(config, dry_run=dry_run)
    cidr = ingress_cidr(cfg, allow_anywhere, result)
    role_arn = ensure_role(aws, cfg, result)
    group_id = ensure_security_group(aws, cfg, cidr, result)
    ensure_cluster(aws, cfg, result, role_arn=role_arn, group_id=group_id)
    result.cluster = wait_until_available(aws, cfg, timeout=timeout, delay=delay, progress=progress)
    return result


def cluster_status(
    config: ClusterConfig | str | os.PathLike[str], *, dry_run: bool = False
) -> ClusterResult:
    """Describe the cluster; :class:`ClusterNotFoundError` when it does not exist."""
    cfg, aws, result = open_session(config, dry_run=dry_run)
    result.cluster = describe_cluster(aws, cfg)
    return result


def cluster_endpoint(
    config: ClusterConfig | str | os.PathLike[str],
    *,
    allow_anywhere: bool = False,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    delay: float = DEFAULT_DELAY,
    progress: Progress | None = None,
) -> ClusterResult:
    """Wait until the cluster is available, make sure the ingress rule is in place, and write
    ``[CLUSTER] HOST`` and ``[IAM_ROLE] ARN`` into the config file (nothing else in it changes).
    """
    cfg, aws, result = open_session(config, dry_run=dry_run)
    cidr = ingress_cidr(cfg, allow_anywhere, result)
    if _describe(aws, cfg) is None and not dry_run:
        raise _not_found(cfg, aws)
    wait_until_available(aws, cfg, timeout=timeout, delay=delay, progress=progress)
    group_id = ensure_security_group(aws, cfg, cidr, result)
    write_endpoint(aws, cfg, result, group_id=group_id)
    return result


def delete_cluster(
    config: ClusterConfig | str | os.PathLike[str],
    *,
    final_snapshot: str | None = None,
    keep_role: bool = False,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    delay: float = DEFAULT_DELAY,
    progress: Progress | None = None,
) -> ClusterResult:
    """Delete the cluster (optionally after a final snapshot), then the security group and the
    role — each only if sparkify created it. What is already gone is reported, not an error.
    """
    check_snapshot_name(final_snapshot)
    cfg, aws, result = open_session(config, dry_run=dry_run)
    remove_cluster(
        aws, cfg, result, final_snapshot=final_snapshot, timeout=timeout, delay=delay,
        progress=progress,
    )  # fmt: skip
    remove_security_group(aws, cfg, result, timeout=timeout, delay=delay, progress=progress)
    if keep_role:
        result.steps.append(f"kept IAM role {cfg.role_name} (keep_role)")
    else:
        remove_role(aws, cfg, result)
    return result


# -- the steps, each safe to run again ------------------------------------------------------


def ensure_cluster(
    aws: Aws, cfg: ClusterConfig, result: ClusterResult, *, role_arn: str, group_id: str
) -> None:
    """Create the cluster with ``role_arn`` and ``group_id`` unless it exists; an existing one
    that lacks either is reported as a warning."""
    cluster = _describe(aws, cfg)
    if cluster is None:
        params: dict[str, Any] = {
            "ClusterIdentifier": cfg.identifier,
            "ClusterType": cfg.cluster_type,
            "NodeType": cfg.node_type,
        }
        if cfg.cluster_type == "multi-node":
            params["NumberOfNodes"] = cfg.num_nodes
        params.update(
            DBName=cfg.db_name,
            MasterUsername=cfg.db_user,
            MasterUserPassword=cfg.db_password,
            Port=cfg.port,
            IamRoles=[role_arn],
            VpcSecurityGroupIds=[group_id],
            PubliclyAccessible=True,
            Tags=[{"Key": TAG_KEY, "Value": TAG_VALUE}],
        )
        aws.call("redshift", "create_cluster", note="if the cluster is missing", **params)
        _did(result, f"created cluster {cfg.identifier} ({_size(cfg)})")
        return
    if cluster["ClusterStatus"] == "deleting":
        raise AwsError(
            f"cluster {cfg.identifier} is being deleted: wait until the redshift_status job "
            "says it does not exist, then create it again"
        )
    result.steps.append(f"cluster {cfg.identifier} exists ({cluster['ClusterStatus']})")
    roles = [role["IamRoleArn"] for role in cluster.get("IamRoles", [])]
    groups = [g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups", [])]
    if group_id not in groups:
        result.warnings.append(
            f"cluster {cfg.identifier} does not use security group {group_name(cfg)}: "
            "the cluster_endpoint step adds it"
        )
    if role_arn not in roles:
        result.warnings.append(
            f"cluster {cfg.identifier} does not use IAM role {cfg.role_name}: attach it in "
            "the Redshift console (Manage IAM roles) so COPY can read S3"
        )


def wait_until_available(
    aws: Aws,
    cfg: ClusterConfig,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    delay: float = DEFAULT_DELAY,
    progress: Progress | None = None,
) -> ClusterInfo | None:
    """Poll every ``delay`` s until the cluster is available (telling ``progress`` the status
    each time); :class:`ClusterStuckError` after ``timeout`` s. ``None`` in a dry run."""
    aws.wait(
        "redshift",
        "cluster_available",
        what=f"cluster {cfg.identifier} to be available",
        timeout=timeout,
        delay=delay,
        progress=progress,
        state=_cluster_state,
        ClusterIdentifier=cfg.identifier,
    )
    return _info(_describe(aws, cfg))


def describe_cluster(aws: Aws, cfg: ClusterConfig) -> ClusterInfo | None:
    """The cluster's details; :class:`ClusterNotFoundError` when it does not exist (``None`` in
    a dry run)."""
    cluster = _describe(aws, cfg)
    if cluster is None and not aws.dry_run:
        raise _not_found(cfg, aws)
    return _info(cluster)


def write_endpoint(
    aws: Aws, cfg: ClusterConfig, result: ClusterResult, *, group_id: str
) -> ClusterInfo | None:
    """Make sure the cluster uses ``group_id``, then write ``[CLUSTER] HOST`` and ``[IAM_ROLE]
    ARN`` into the config file, changing nothing else in it. Returns the cluster's details."""
    cluster = _describe(aws, cfg)
    if cluster is None and not aws.dry_run:
        raise _not_found(cfg, aws)
    groups = [g["VpcSecurityGroupId"] for g in (cluster or {}).get("VpcSecurityGroups", [])]
    if group_id not in groups:
        aws.call(
            "redshift",
            "modify_cluster",
            note="if the cluster lacks the security group",
            ClusterIdentifier=cfg.identifier,
            VpcSecurityGroupIds=[*groups, group_id],
        )
        _did(result, f"added security group {group_name(cfg)} to cluster {cfg.identifier}")
    role = aws.read("iam", "get_role", missing="NoSuchEntity", RoleName=cfg.role_name)
    cluster_roles = [r["IamRoleArn"] for r in (cluster or {}).get("IamRoles", [])]
    role_arn = role["Role"]["Arn"] if role else next(iter(cluster_roles), None)
    if cluster is None:
        result.steps.append(f"would write [CLUSTER] HOST and [IAM_ROLE] ARN into {cfg.path}")
        return None
    info = _cluster_info(cluster)
    result.cluster = info
    values = {("CLUSTER", "HOST"): info.endpoint or ""}
    if role_arn:
        values[("IAM_ROLE", "ARN")] = role_arn
    else:
        result.warnings.append(
            f"no IAM role {cfg.role_name} found: [IAM_ROLE] ARN left as it was; run the "
            "provision_redshift job to make it"
        )
    if update_config(cfg.path, values):
        _did(result, f"wrote HOST={info.endpoint} and ARN={role_arn} into {cfg.path}")
    else:
        result.steps.append(f"{cfg.path} already has HOST={info.endpoint} and ARN={role_arn}")
    return info


def check_snapshot_name(final_snapshot: str | None) -> None:
    """A :class:`ConfigError` unless ``final_snapshot`` is ``None`` or a valid identifier."""
    if final_snapshot is not None and not valid_identifier(final_snapshot, 255):
        raise ConfigError(
            f"final_snapshot {final_snapshot!r} is not a valid snapshot identifier: use "
            "letters, digits or hyphens, starting with a letter, without a trailing or double "
            "hyphen (e.g. dwhcluster-final)"
        )


def remove_cluster(
    aws: Aws,
    cfg: ClusterConfig,
    result: ClusterResult,
    *,
    final_snapshot: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    delay: float = DEFAULT_DELAY,
    progress: Progress | None = None,
) -> None:
    """Delete the cluster (after a final snapshot if one is named) and wait until it is gone;
    refuses a cluster sparkify did not create."""
    check_snapshot_name(final_snapshot)
    cluster = _describe(aws, cfg)
    if cluster is None and not aws.dry_run:
        result.steps.append(f"cluster {cfg.identifier} is already gone")
        return
    if cluster is not None and not _tagged(cluster.get("Tags", [])):
        raise ResourceConflictError(
            f"cluster {cfg.identifier} was not created by sparkify (no tag "
            f"{TAG_KEY}={TAG_VALUE}), so sparkify will not delete it: delete it in the "
            "Redshift console, or add that tag to it to let sparkify delete it"
        )
    snapshot: dict[str, Any] = (
        {"SkipFinalClusterSnapshot": False, "FinalClusterSnapshotIdentifier": final_snapshot}
        if final_snapshot
        else {"SkipFinalClusterSnapshot": True}
    )
    if cluster is not None and cluster.get("ClusterStatus") == "deleting":
        result.steps.append(f"cluster {cfg.identifier} is already being deleted")
    else:
        aws.call("redshift", "delete_cluster", ClusterIdentifier=cfg.identifier, **snapshot)
    aws.wait(
        "redshift",
        "cluster_deleted",
        what=f"cluster {cfg.identifier} to be deleted",
        timeout=timeout,
        delay=delay,
        progress=progress,
        state=_cluster_state,
        ClusterIdentifier=cfg.identifier,
    )
    kept = f", final snapshot {final_snapshot}" if final_snapshot else ""
    _did(result, f"deleted cluster {cfg.identifier}{kept}")


def remove_security_group(
    aws: Aws,
    cfg: ClusterConfig,
    result: ClusterResult,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    delay: float = DEFAULT_DELAY,
    progress: Progress | None = None,
) -> None:
    """Delete the cluster's security group if sparkify created it, waiting while AWS still
    holds it for a just-deleted cluster."""
    group = _find_security_group(aws, cfg)
    if group is None and not aws.dry_run:
        result.steps.append(f"security group {group_name(cfg)} is already gone")
    elif group is not None and not _tagged(group.get("Tags", [])):
        result.steps.append(f"kept security group {group_name(cfg)}: not created by sparkify")
    else:
        group_id = group["GroupId"] if group else f"<id of {group_name(cfg)}>"
        _delete_security_group(aws, cfg, group_id, timeout, delay, progress)
        _did(result, f"deleted security group {group_name(cfg)} ({group_id})")


def ingress_cidr(cfg: ClusterConfig, allow_anywhere: bool, result: ClusterResult) -> str:
    """The one network allowed in: ``DWH_ALLOWED_CIDR``; the whole internet only if asked."""
    cidr = cfg.allowed_cidr
    if cidr is None:
        if not allow_anywhere:
            raise ConfigError(
                f"[DWH] DWH_ALLOWED_CIDR is not set in {cfg.path} or $DWH_ALLOWED_CIDR: set it to "
                "the network that may connect to the cluster, e.g. DWH_ALLOWED_CIDR="
                "203.0.113.7/32 for one address, or set allow_anywhere (the security_group "
                "step's run config) to open the port to the whole internet"
            )
        cidr = ANYWHERE
    if ipaddress.ip_network(cidr).prefixlen == 0:
        if not allow_anywhere:
            raise ConfigError(
                f"[DWH] DWH_ALLOWED_CIDR is {cidr}, which opens port {cfg.port} to the whole "
                "internet: narrow it (e.g. your address/32), or set allow_anywhere (the "
                "security_group step's run config) if you mean it"
            )
        result.warnings.append(
            f"port {cfg.port} of the cluster is open to the whole internet ({cidr}): only the "
            "database password protects it; set DWH_ALLOWED_CIDR to narrow it"
        )
    return cidr


def group_name(cfg: ClusterConfig) -> str:
    """The name of the cluster's dedicated security group."""
    return f"sparkify-{cfg.identifier}"


def ensure_role(aws: Aws, cfg: ClusterConfig, result: ClusterResult) -> str:
    """The IAM role Redshift assumes to read S3, made if missing; returns its ARN."""
    name = cfg.role_name
    role = aws.read("iam", "get_role", missing="NoSuchEntity", RoleName=name)
    if role is None:
        created = aws.call(
            "iam",
            "create_role",
            note="if the role is missing",
            RoleName=name,
            Description="Lets Redshift read S3 for sparkify",
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Tags=[{"Key": TAG_KEY, "Value": TAG_VALUE}],
        )
        arn = created["Role"]["Arn"] if created else f"<arn of {name}>"
        _did(result, f"created IAM role {name} ({arn})")
    else:
        arn = role["Role"]["Arn"]
        trusted = _trusted_services(role["Role"].get("AssumeRolePolicyDocument"))
        if REDSHIFT_SERVICE not in trusted:
            raise ResourceConflictError(
                f"IAM role {name} exists but Redshift may not assume it (it trusts "
                f"{', '.join(sorted(trusted)) or 'no service'}), so it serves another purpose: "
                "set [DWH] DWH_IAM_ROLE_NAME to a new name, e.g. sparkify-redshift-s3"
            )
        result.steps.append(f"IAM role {name} exists ({arn})")
    attached = aws.read("iam", "list_attached_role_policies", missing="NoSuchEntity", RoleName=name)
    arns = {policy["PolicyArn"] for policy in (attached or {}).get("AttachedPolicies", [])}
    if S3_READ_ONLY not in arns:
        aws.call(
            "iam",
            "attach_role_policy",
            note="if not attached",
            RoleName=name,
            PolicyArn=S3_READ_ONLY,
        )
        _did(result, f"attached AmazonS3ReadOnlyAccess to {name}")
    else:
        result.steps.append(f"AmazonS3ReadOnlyAccess is attached to {name}")
    return str(arn)


def _trusted_services(document: Any) -> set[str]:
    if isinstance(document, str):
        from urllib.parse import unquote

        document = json.loads(unquote(document))
    services: set[str] = set()
    statements = (document or {}).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in actions:
            continue
        principal = statement.get("Principal", {})
        service = principal.get("Service", []) if isinstance(principal, dict) else []
        services.update(service if isinstance(service, list) else [service])
    return services


def _default_vpc(aws: Aws) -> str:
    vpcs = aws.call("ec2", "describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])
    if vpcs is None:
        return "<default VPC id>"
    if not vpcs.get("Vpcs"):
        raise ConfigError(
            f"region {aws.region_name} has no default VPC for the cluster: create one with "
            "`aws ec2 create-default-vpc`, or use another [AWS] REGION"
        )
    return str(vpcs["Vpcs"][0]["VpcId"])


def _find_security_group(aws: Aws, cfg: ClusterConfig) -> dict[str, Any] | None:
    found = aws.call(
        "ec2",
        "describe_security_groups",
        Filters=[{"Name": "group-name", "Values": [group_name(cfg)]}],
    )
    groups: list[dict[str, Any]] = (found or {}).get("SecurityGroups", [])
    return groups[0] if groups else None


def ensure_security_group(aws: Aws, cfg: ClusterConfig, cidr: str, result: ClusterResult) -> str:
    """The cluster's security group, made if missing, letting ``DWH_PORT`` in from ``cidr``
    only; returns its id."""
    name = group_name(cfg)
    group = _find_security_group(aws, cfg)
    if group is None:
        vpc_id = _default_vpc(aws)
        created = aws.call(
            "ec2",
            "create_security_group",
            note="if the group is missing",
            GroupName=name,
            Description=f"sparkify: Redshift cluster {cfg.identifier}",
            VpcId=vpc_id,
            TagSpecifications=[
                {"ResourceType": "security-group", "Tags": [{"Key": TAG_KEY, "Value": TAG_VALUE}]}
            ],
        )
        group_id = created["GroupId"] if created else f"<id of {name}>"
        _did(result, f"created security group {name} ({group_id}) in {vpc_id}")
        permissions: list[dict[str, Any]] = []
    else:
        group_id = group["GroupId"]
        if not _tagged(group.get("Tags", [])):
            raise ResourceConflictError(
                f"security group {name} ({group_id}) exists but was not created by sparkify: "
                f"delete or rename it, or change [DWH] DWH_CLUSTER_IDENTIFIER"
            )
        result.steps.append(f"security group {name} exists ({group_id})")
        permissions = group.get("IpPermissions", [])
    _ensure_ingress(aws, cfg, group_id, cidr, permissions, result)
    return str(group_id)


def _ensure_ingress(
    aws: Aws,
    cfg: ClusterConfig,
    group_id: str,
    cidr: str,
    permissions: list[dict[str, Any]],
    result: ClusterResult,
) -> None:
    """Exactly one ingress rule: TCP ``DWH_PORT`` from ``cidr``; any other is removed."""
    ranges_key, cidr_key = ("Ipv6Ranges", "CidrIpv6") if ":" in cidr else ("IpRanges", "CidrIp")
    wanted = {
        "IpProtocol": "tcp",
        "FromPort": cfg.port,
        "ToPort": cfg.port,
        ranges_key: [{cidr_key: cidr, "Description": "sparkify DWH_ALLOWED_CIDR"}],
    }
    present = False
    for permission in permissions:
        same_port = (
            permission.get("IpProtocol") == "tcp"
            and permission.get("FromPort") == cfg.port
            and permission.get("ToPort") == cfg.port
        )
        for key, inner in (("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")):
            for entry in permission.get(key, []):
                if same_port and entry[inner] == cidr:
                    present = True
                    continue
                stale = {k: v for k, v in permission.items() if k in _RULE_KEYS}
                aws.call(
                    "ec2",
                    "revoke_security_group_ingress",
                    GroupId=group_id,
                    IpPermissions=[{**stale, key: [{inner: entry[inner]}]}],
                )
                _did(result, f"removed ingress from {entry[inner]} (not DWH_ALLOWED_CIDR)")
    if present:
        result.steps.append(f"ingress TCP {cfg.port} from {cidr} is in place")
        return
    aws.call(
        "ec2",
        "authorize_security_group_ingress",
        note="if the rule is missing",
        GroupId=group_id,
        IpPermissions=[wanted],
    )
    _did(result, f"allowed TCP {cfg.port} from {cidr} only")


def _delete_security_group(
    aws: Aws,
    cfg: ClusterConfig,
    group_id: str,
    timeout: float,
    delay: float,
    progress: Progress | None,
) -> None:
    """Delete the group, waiting while AWS still holds it for the just-deleted cluster."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            aws.call("ec2", "delete_security_group", GroupId=group_id)
            return
        except AwsError as exc:
            if exc.code != "DependencyViolation" or time.monotonic() + delay > deadline:
                raise
        if progress is not None:
            progress(f"waiting for AWS to release security group {group_name(cfg)}")
        time.sleep(delay)


def remove_role(aws: Aws, cfg: ClusterConfig, result: ClusterResult) -> None:
    """Delete the IAM role (and detach its policies) if sparkify created it."""
    name = cfg.role_name
    role = aws.read("iam", "get_role", missing="NoSuchEntity", RoleName=name)
    if role is None and not aws.dry_run:
        result.steps.append(f"IAM role {name} is already gone")
        return
    if role is not None and not _tagged(role["Role"].get("Tags", [])):
        result.steps.append(f"kept IAM role {name}: not created by sparkify")
        return
    attached = aws.read("iam", "list_attached_role_policies", missing="NoSuchEntity", RoleName=name)
    policies = [p["PolicyArn"] for p in (attached or {}).get("AttachedPolicies", [])]
    for policy_arn in policies or ([S3_READ_ONLY] if aws.dry_run else []):
        aws.call("iam", "detach_role_policy", RoleName=name, PolicyArn=policy_arn)
    inline = aws.read("iam", "list_role_policies", missing="NoSuchEntity", RoleName=name)
    for policy_name in (inline or {}).get("PolicyNames", []):
        aws.call("iam", "delete_role_policy", RoleName=name, PolicyName=policy_name)
    aws.call("iam", "delete_role", RoleName=name)
    _did(result, f"deleted IAM role {name}")


def _describe(aws: Aws, cfg: ClusterConfig) -> dict[str, Any] | None:
    found = aws.read(
        "redshift", "describe_clusters", missing="ClusterNotFound", ClusterIdentifier=cfg.identifier
    )
    clusters: list[dict[str, Any]] = (found or {}).get("Clusters", [])
    return clusters[0] if clusters else None


def _cluster_state(response: Any) -> str:
    clusters = (response or {}).get("Clusters") or [{}]
    return str(clusters[0].get("ClusterStatus", "not ready"))


def _info(cluster: dict[str, Any] | None) -> ClusterInfo | None:
    return None if cluster is None else _cluster_info(cluster)


def _cluster_info(cluster: dict[str, Any]) -> ClusterInfo:
    endpoint = cluster.get("Endpoint") or {}
    created = cluster.get("ClusterCreateTime")
    return ClusterInfo(
        identifier=cluster["ClusterIdentifier"],
        status=cluster.get("ClusterStatus", "unknown"),
        node_type=cluster.get("NodeType", ""),
        nodes=int(cluster.get("NumberOfNodes", 1)),
        endpoint=endpoint.get("Address"),
        port=endpoint.get("Port"),
        database=cluster.get("DBName", ""),
        role_arns=[role["IamRoleArn"] for role in cluster.get("IamRoles", [])],
        vpc_id=cluster.get("VpcId"),
        security_groups=[g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups", [])],
        created_at=created.isoformat() if created is not None else None,
        managed_by_sparkify=_tagged(cluster.get("Tags", [])),
    )


def _not_found(cfg: ClusterConfig, aws: Aws) -> ClusterNotFoundError:
    return ClusterNotFoundError(
        f"cluster {cfg.identifier} does not exist in region {aws.region_name}: create it with "
        f"the provision_redshift job, or check [DWH] DWH_CLUSTER_IDENTIFIER and [AWS] REGION "
        f"in {cfg.path}"
    )


def _tagged(tags: list[dict[str, str]]) -> bool:
    return any(tag.get("Key") == TAG_KEY and tag.get("Value") == TAG_VALUE for tag in tags)


def _did(result: ClusterResult, step: str) -> None:
    result.steps.append(("would: " if result.dry_run else "") + step)
    result.changed = not result.dry_run


def _size(cfg: ClusterConfig) -> str:
    return (
        f"{cfg.num_nodes} x {cfg.node_type}"
        if cfg.cluster_type == "multi-node"
        else (f"single-node {cfg.node_type}")
    )
