"""The Redshift cluster itself: create, describe, wait for, write its endpoint, delete."""

from __future__ import annotations

from typing import Any

from sparkify_dagster.cluster.aws import DEFAULT_DELAY, DEFAULT_TIMEOUT, Aws, Progress
from sparkify_dagster.cluster.dwhcfg import ClusterConfig, update_config, valid_identifier
from sparkify_dagster.cluster.network import group_name
from sparkify_dagster.cluster.result import (
    TAG_KEY,
    TAG_VALUE,
    ClusterInfo,
    ClusterResult,
    did,
    tagged,
)
from sparkify_dagster.core.errors import (
    AwsError,
    ClusterNotFoundError,
    ConfigError,
    ResourceConflictError,
)


def ensure_cluster(
    aws: Aws, cfg: ClusterConfig, result: ClusterResult, *, role_arn: str, group_id: str
) -> None:
    """Create the cluster with ``role_arn`` and ``group_id`` unless it exists; an existing one
    that lacks either is reported as a warning."""
    cluster = find_cluster(aws, cfg)
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
        did(result, f"created cluster {cfg.identifier} ({_size(cfg)})")
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
    return _info(find_cluster(aws, cfg))


def describe_cluster(aws: Aws, cfg: ClusterConfig) -> ClusterInfo | None:
    """The cluster's details; :class:`ClusterNotFoundError` when it does not exist (``None`` in
    a dry run)."""
    cluster = find_cluster(aws, cfg)
    if cluster is None and not aws.dry_run:
        raise cluster_not_found(cfg, aws)
    return _info(cluster)


def write_endpoint(
    aws: Aws, cfg: ClusterConfig, result: ClusterResult, *, group_id: str
) -> ClusterInfo | None:
    """Make sure the cluster uses ``group_id``, then write ``[CLUSTER] HOST`` and ``[IAM_ROLE]
    ARN`` into the config file, changing nothing else in it. Returns the cluster's details."""
    cluster = find_cluster(aws, cfg)
    if cluster is None and not aws.dry_run:
        raise cluster_not_found(cfg, aws)
    groups = [g["VpcSecurityGroupId"] for g in (cluster or {}).get("VpcSecurityGroups", [])]
    if group_id not in groups:
        aws.call(
            "redshift",
            "modify_cluster",
            note="if the cluster lacks the security group",
            ClusterIdentifier=cfg.identifier,
            VpcSecurityGroupIds=[*groups, group_id],
        )
        did(result, f"added security group {group_name(cfg)} to cluster {cfg.identifier}")
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
        did(result, f"wrote HOST={info.endpoint} and ARN={role_arn} into {cfg.path}")
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
    cluster = find_cluster(aws, cfg)
    if cluster is None and not aws.dry_run:
        result.steps.append(f"cluster {cfg.identifier} is already gone")
        return
    if cluster is not None and not tagged(cluster.get("Tags", [])):
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
    did(result, f"deleted cluster {cfg.identifier}{kept}")


def find_cluster(aws: Aws, cfg: ClusterConfig) -> dict[str, Any] | None:
    """The cluster as ``describe_clusters`` answers, ``None`` if it does not exist."""
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
        managed_by_sparkify=tagged(cluster.get("Tags", [])),
    )


def cluster_not_found(cfg: ClusterConfig, aws: Aws) -> ClusterNotFoundError:
    """The error for a cluster the steps need but AWS does not have."""
    return ClusterNotFoundError(
        f"cluster {cfg.identifier} does not exist in region {aws.region_name}: create it with "
        f"the provision_redshift job, or check [DWH] DWH_CLUSTER_IDENTIFIER and [AWS] REGION "
        f"in {cfg.path}"
    )


def _size(cfg: ClusterConfig) -> str:
    return (
        f"{cfg.num_nodes} x {cfg.node_type}"
        if cfg.cluster_type == "multi-node"
        else (f"single-node {cfg.node_type}")
    )
