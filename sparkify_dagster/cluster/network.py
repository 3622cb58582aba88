"""The cluster's network: its security group in the default VPC, open on ``DWH_PORT`` to
``DWH_ALLOWED_CIDR`` only."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from sparkify_dagster.cluster.aws import DEFAULT_DELAY, DEFAULT_TIMEOUT, Aws, Progress
from sparkify_dagster.cluster.dwhcfg import ClusterConfig
from sparkify_dagster.cluster.result import TAG_KEY, TAG_VALUE, ClusterResult, did, tagged
from sparkify_dagster.core.errors import AwsError, ConfigError, ResourceConflictError

ANYWHERE = "0.0.0.0/0"
_RULE_KEYS = ("IpProtocol", "FromPort", "ToPort")


def group_name(cfg: ClusterConfig) -> str:
    """The name of the cluster's dedicated security group."""
    return f"sparkify-{cfg.identifier}"


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
        did(result, f"created security group {name} ({group_id}) in {vpc_id}")
        permissions: list[dict[str, Any]] = []
    else:
        group_id = group["GroupId"]
        if not tagged(group.get("Tags", [])):
            raise ResourceConflictError(
                f"security group {name} ({group_id}) exists but was not created by sparkify: "
                f"delete or rename it, or change [DWH] DWH_CLUSTER_IDENTIFIER"
            )
        result.steps.append(f"security group {name} exists ({group_id})")
        permissions = group.get("IpPermissions", [])
    _ensure_ingress(aws, cfg, group_id, cidr, permissions, result)
    return str(group_id)


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
                did(result, f"removed ingress from {entry[inner]} (not DWH_ALLOWED_CIDR)")
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
    did(result, f"allowed TCP {cfg.port} from {cidr} only")


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
    elif group is not None and not tagged(group.get("Tags", [])):
        result.steps.append(f"kept security group {group_name(cfg)}: not created by sparkify")
    else:
        group_id = group["GroupId"] if group else f"<id of {group_name(cfg)}>"
        _delete_security_group(aws, cfg, group_id, timeout, delay, progress)
        did(result, f"deleted security group {group_name(cfg)} ({group_id})")


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
