"""The IAM role Redshift assumes to read S3: made if missing, removed only if sparkify made it."""

from __future__ import annotations

import json
from typing import Any

from sparkify_dagster.cluster.aws import Aws
from sparkify_dagster.cluster.dwhcfg import ClusterConfig
from sparkify_dagster.cluster.result import TAG_KEY, TAG_VALUE, ClusterResult, did, tagged
from sparkify_dagster.core.errors import ResourceConflictError

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
        did(result, f"created IAM role {name} ({arn})")
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
        did(result, f"attached AmazonS3ReadOnlyAccess to {name}")
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


def remove_role(aws: Aws, cfg: ClusterConfig, result: ClusterResult) -> None:
    """Delete the IAM role (and detach its policies) if sparkify created it."""
    name = cfg.role_name
    role = aws.read("iam", "get_role", missing="NoSuchEntity", RoleName=name)
    if role is None and not aws.dry_run:
        result.steps.append(f"IAM role {name} is already gone")
        return
    if role is not None and not tagged(role["Role"].get("Tags", [])):
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
    did(result, f"deleted IAM role {name}")
