"""The Redshift cluster's lifecycle: create, status, endpoint, delete — safe to run again.

Provisioning makes three things, each tagged ``managed-by=sparkify`` so that deleting removes
only what sparkify made: an IAM role that Redshift may assume to read S3, a security group that
lets ``DWH_PORT`` in from ``DWH_ALLOWED_CIDR`` only, and the cluster. Each step first looks for
what exists, so a second run reports and changes nothing.

The steps take a session from :func:`open_session`: the IAM role's in
:mod:`~sparkify_dagster.cluster.iam` (:func:`ensure_role`, :func:`remove_role`), the network's in
:mod:`~sparkify_dagster.cluster.network` (:func:`ensure_security_group`,
:func:`remove_security_group`), the cluster's own in
:mod:`~sparkify_dagster.cluster.redshift_cluster` (:func:`ensure_cluster`,
:func:`wait_until_available`, :func:`write_endpoint`, :func:`remove_cluster`, …);
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

import os
from typing import Any

from sparkify_dagster.cluster.aws import DEFAULT_DELAY, DEFAULT_TIMEOUT, Aws, Progress
from sparkify_dagster.cluster.dwhcfg import ClusterConfig, load_cluster_config
from sparkify_dagster.cluster.iam import ensure_role, remove_role
from sparkify_dagster.cluster.network import (
    ensure_security_group,
    ingress_cidr,
    remove_security_group,
)
from sparkify_dagster.cluster.redshift_cluster import (
    check_snapshot_name,
    cluster_not_found,
    describe_cluster,
    ensure_cluster,
    find_cluster,
    remove_cluster,
    wait_until_available,
    write_endpoint,
)
from sparkify_dagster.cluster.result import ClusterResult

__all__ = [
    "ClusterResult",
    "cluster_endpoint",
    "cluster_status",
    "create_cluster",
    "delete_cluster",
    "open_session",
]


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
    if find_cluster(aws, cfg) is None and not dry_run:
        raise cluster_not_found(cfg, aws)
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
