"""The Redshift cluster as jobs a user launches: provision it, look at it, tear it down.

Each op is one step of the cluster's lifecycle (:mod:`sparkify_dagster.cluster`), so the UI
shows which step failed and a run can be re-executed from it; every step looks before it acts,
so running a job again changes nothing that is already right. The steps log what they did (or,
with the resource's ``dry_run``, every AWS call they would make) and record their result as
metadata.

These are op jobs, not assets: "Materialize all" never creates, changes or deletes anything on
AWS. Launch them from the UI's Jobs page, or::

    DAGSTER_HOME=$PWD dagster job execute -m sparkify_dagster -j provision_redshift
"""

from typing import Any

from dagster import Config, OpExecutionContext, Output, job, op
from pydantic import Field

from sparkify_dagster.cluster import iam, network
from sparkify_dagster.cluster import redshift_cluster as cluster_steps
from sparkify_dagster.cluster.aws import DEFAULT_DELAY, DEFAULT_TIMEOUT
from sparkify_dagster.cluster.result import ClusterInfo, ClusterResult
from sparkify_dagster.core.settings import config_value, read_config
from sparkify_dagster.failures import reported
from sparkify_dagster.resources import RedshiftClusterResource

TAGS = {"sparkify/kind": "aws"}


class WaitConfig(Config):
    """How long a step waits for the cluster, and how often it looks."""

    timeout_seconds: float = Field(
        default=DEFAULT_TIMEOUT,
        description="Give up after this many seconds (creating a cluster takes 5-15 minutes).",
    )
    poll_seconds: float = Field(
        default=DEFAULT_DELAY, description="Seconds between two looks at the cluster's status."
    )


class DeleteClusterConfig(WaitConfig):
    final_snapshot: str | None = Field(
        default=None,
        description="Keep a final snapshot under this identifier (e.g. dwhcluster-final).",
    )


class DeleteRoleConfig(Config):
    keep_role: bool = Field(
        default=False, description="Keep the IAM role (for another cluster that uses it)."
    )


def _recorded(result: ClusterResult) -> dict[str, Any]:
    """The metadata every step records."""
    return {"changed": result.changed, "dry_run": result.dry_run}


def cluster_metadata(info: ClusterInfo | None) -> dict[str, Any]:
    """A cluster's details as metadata the UI lists (nothing secret is in them)."""
    if info is None:
        return {}
    return {
        "identifier": info.identifier,
        "status": info.status,
        "nodes": f"{info.nodes} x {info.node_type}",
        "endpoint": info.endpoint or "",
        "port": info.port or 0,
        "database": info.database,
        "iam_roles": ", ".join(info.role_arns),
        "vpc": info.vpc_id or "",
        "security_groups": ", ".join(info.security_groups),
        "created_at": info.created_at or "",
        "created_by_sparkify": info.managed_by_sparkify,
    }


# -- provision_redshift ----------------------------------------------------------------------


@op(description="Check every DWH_* setting and the allowed network, before any AWS call.")
def cluster_settings(
    context: OpExecutionContext, redshift_cluster: RedshiftClusterResource
) -> Output[str]:
    with redshift_cluster.step(context) as (cfg, aws, result):
        cidr = network.ingress_cidr(cfg, redshift_cluster.allow_anywhere, result)
    metadata = _recorded(result)
    context.log.info(f"settings of cluster {cfg.identifier} from {cfg.path} are valid")
    return Output(
        cfg.identifier,
        metadata={
            **metadata,
            "config": str(cfg.path),
            "identifier": cfg.identifier,
            "nodes": f"{cfg.num_nodes} x {cfg.node_type} ({cfg.cluster_type})",
            "database": f"{cfg.db_name} (user {cfg.db_user}, port {cfg.port})",
            "iam_role": cfg.role_name,
            "allowed_cidr": cidr,
            "region": aws.region or "(the AWS chain's)",
        },
    )


@op(description="The IAM role Redshift assumes, with AmazonS3ReadOnlyAccess; made if missing.")
def iam_role(
    context: OpExecutionContext, redshift_cluster: RedshiftClusterResource, identifier: str
) -> Output[str]:
    with redshift_cluster.step(context) as (cfg, aws, result):
        arn = iam.ensure_role(aws, cfg, result)
    return Output(arn, metadata={**_recorded(result), "role_arn": arn})


@op(description="The cluster's security group, open on its port to DWH_ALLOWED_CIDR only.")
def security_group(
    context: OpExecutionContext, redshift_cluster: RedshiftClusterResource, identifier: str
) -> Output[str]:
    with redshift_cluster.step(context) as (cfg, aws, result):
        cidr = network.ingress_cidr(cfg, redshift_cluster.allow_anywhere, result)
        group_id = network.ensure_security_group(aws, cfg, cidr, result)
    return Output(
        group_id,
        metadata={
            **_recorded(result),
            "group": network.group_name(cfg),
            "group_id": group_id,
            "ingress": f"TCP {cfg.port} from {cidr}",
        },
    )


@op(description="The Redshift cluster with the role and the group, created if missing.")
def cluster(
    context: OpExecutionContext,
    redshift_cluster: RedshiftClusterResource,
    role_arn: str,
    group_id: str,
) -> Output[str]:
    with redshift_cluster.step(context) as (cfg, aws, result):
        cluster_steps.ensure_cluster(aws, cfg, result, role_arn=role_arn, group_id=group_id)
    return Output(cfg.identifier, metadata={**_recorded(result), "cluster": cfg.identifier})


@op(description="Wait until the cluster is available, logging its status at every look.")
def wait_for_cluster(
    context: OpExecutionContext,
    config: WaitConfig,
    redshift_cluster: RedshiftClusterResource,
    identifier: str,
) -> Output[str]:
    with redshift_cluster.step(context) as (cfg, aws, result):
        info = cluster_steps.wait_until_available(
            aws,
            cfg,
            timeout=config.timeout_seconds,
            delay=config.poll_seconds,
            progress=context.log.info,
        )
        if info is not None:  # logged before the step's own lines
            context.log.info(f"cluster {info.identifier} is {info.status}")
    return Output(cfg.identifier, metadata={**_recorded(result), **cluster_metadata(info)})


@op(description="Write the endpoint and the role ARN into dwh.cfg, changing nothing else.")
def cluster_endpoint(
    context: OpExecutionContext,
    redshift_cluster: RedshiftClusterResource,
    identifier: str,
    group_id: str,
) -> Output[str]:
    with redshift_cluster.step(context) as (cfg, aws, result):
        info = cluster_steps.write_endpoint(aws, cfg, result, group_id=group_id)
    written = read_config(cfg.path) if cfg.path.exists() else None
    host = (config_value(written, "CLUSTER", "HOST") if written else None) or ""
    arn = (config_value(written, "IAM_ROLE", "ARN") if written else None) or ""
    return Output(
        host,
        metadata={
            **_recorded(result),
            "endpoint": host,
            "port": (info.port or 0) if info is not None else 0,
            "role_arn": arn,
            "config": str(cfg.path),
        },
    )


@job(
    description=(
        "Create what the Redshift cluster of dwh.cfg needs and write its endpoint back: IAM "
        "role, security group, cluster, wait, [CLUSTER] HOST and [IAM_ROLE] ARN. Safe to run "
        "again."
    ),
    tags=TAGS,
)
def provision_redshift() -> None:
    identifier = cluster_settings()
    group_id = security_group(identifier)
    made = cluster(iam_role(identifier), group_id)
    cluster_endpoint(wait_for_cluster(made), group_id)


# -- redshift_status -------------------------------------------------------------------------


@op(description="The cluster's identifier, status, nodes, endpoint, role and network.")
def cluster_details(
    context: OpExecutionContext, redshift_cluster: RedshiftClusterResource
) -> Output[str]:
    with redshift_cluster.step(context) as (cfg, aws, result):
        info = cluster_steps.describe_cluster(aws, cfg)
    metadata = {**_recorded(result), **cluster_metadata(info)}
    if info is not None:
        where = f" at {info.endpoint}:{info.port}" if info.endpoint else ""
        context.log.info(
            f"cluster {info.identifier} is {info.status}{where} ({info.nodes} x "
            f"{info.node_type}, database {info.database})"
        )
    return Output(info.status if info is not None else "unknown", metadata=metadata)


@job(description="Show the Redshift cluster of dwh.cfg: status, endpoint, nodes, role.", tags=TAGS)
def redshift_status() -> None:
    cluster_details()


# -- teardown_redshift -----------------------------------------------------------------------


@op(description="Delete the cluster (after a final snapshot if one is named) and wait.")
def delete_cluster(
    context: OpExecutionContext,
    config: DeleteClusterConfig,
    redshift_cluster: RedshiftClusterResource,
) -> Output[str]:
    with reported():  # a bad name fails before dwh.cfg is read
        cluster_steps.check_snapshot_name(config.final_snapshot)
    with redshift_cluster.step(context) as (cfg, aws, result):
        cluster_steps.remove_cluster(
            aws,
            cfg,
            result,
            final_snapshot=config.final_snapshot,
            timeout=config.timeout_seconds,
            delay=config.poll_seconds,
            progress=context.log.info,
        )
    metadata = {**_recorded(result), "final_snapshot": config.final_snapshot or ""}
    return Output(cfg.identifier, metadata=metadata)


@op(description="Delete the cluster's security group, if provisioning made it.")
def delete_security_group(
    context: OpExecutionContext,
    config: WaitConfig,
    redshift_cluster: RedshiftClusterResource,
    identifier: str,
) -> Output[str]:
    with redshift_cluster.step(context) as (cfg, aws, result):
        network.remove_security_group(
            aws,
            cfg,
            result,
            timeout=config.timeout_seconds,
            delay=config.poll_seconds,
            progress=context.log.info,
        )
    return Output(network.group_name(cfg), metadata=_recorded(result))


@op(description="Delete the IAM role, if provisioning made it, unless keep_role.")
def delete_role(
    context: OpExecutionContext,
    config: DeleteRoleConfig,
    redshift_cluster: RedshiftClusterResource,
    group: str,
) -> Output[str]:
    with redshift_cluster.step(context) as (cfg, aws, result):
        if config.keep_role:
            result.steps.append(f"kept IAM role {cfg.role_name} (keep_role)")
        else:
            iam.remove_role(aws, cfg, result)
    return Output(cfg.role_name, metadata=_recorded(result))


@job(
    description=(
        "Delete the Redshift cluster of dwh.cfg, then its security group and IAM role: only "
        "what provisioning tagged managed-by=sparkify."
    ),
    tags=TAGS,
)
def teardown_redshift() -> None:
    delete_role(delete_security_group(delete_cluster()))


CLUSTER_JOBS = [provision_redshift, redshift_status, teardown_redshift]
