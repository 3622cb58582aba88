"""What a cluster step did and saw, and the tag that marks what sparkify made on AWS.

Every step appends to one :class:`ClusterResult`; deleting removes only what carries the tag
``managed-by=sparkify``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sparkify_dagster.cluster.aws import Call

TAG_KEY = "managed-by"
TAG_VALUE = "sparkify"


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


@dataclass
class ClusterResult:
    """What a lifecycle command did (``steps``), or in a dry run would call (``calls``)."""

    steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    cluster: ClusterInfo | None = None
    changed: bool = False
    dry_run: bool = False


def did(result: ClusterResult, step: str) -> None:
    """Record a change (``would: …`` in a dry run)."""
    result.steps.append(("would: " if result.dry_run else "") + step)
    result.changed = not result.dry_run


def tagged(tags: list[dict[str, str]]) -> bool:
    """Whether AWS tags say sparkify made the thing."""
    return any(tag.get("Key") == TAG_KEY and tag.get("Value") == TAG_VALUE for tag in tags)
