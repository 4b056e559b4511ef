"""The task role: exactly core.permissions.RUNTIME_PERMISSIONS, on exactly their resources."""

from __future__ import annotations

from collections import defaultdict

from aws_cdk import aws_iam as iam
from constructs import Construct

from core.permissions import RESOURCES, RUNTIME_PERMISSIONS


def task_role(scope: Construct, arns: dict[str, str]) -> iam.Role:
    """A role for the service's tasks, allowed the run-time list and nothing else.

    `arns` maps every resource name of core.permissions.RESOURCES to its ARN.
    """
    missing = set(RESOURCES) - set(arns)
    if missing:
        raise ValueError(f"no ARN for the resources {sorted(missing)}")
    role = iam.Role(
        scope,
        "TaskRole",
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        description="provider-accounts at run time: core/permissions.py, nothing more",
    )
    # One statement per set of resources keeps the policy short and readable.
    actions_by_resources: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for permission in RUNTIME_PERMISSIONS:
        actions_by_resources[permission.resources].append(permission.action)
    for names, actions in actions_by_resources.items():
        role.add_to_policy(
            iam.PolicyStatement(actions=actions, resources=[arns[name] for name in names])
        )
    return role
