"""The CDK stack synthesised once per session, offline (jsii runs on the machine's Node.js)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk
import pytest
from aws_cdk import assertions

from infra.app import build_app
from infra.stack import ProviderAccountsStack

ENVIRONMENT = "test"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> ProviderAccountsStack:
    """The stack of the environment `test`, as `cdk synth -c env=test` builds it."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(aws_cdk.App(outdir=str(outdir), context={"env": ENVIRONMENT}))
    app.synth()
    stacks = [child for child in app.node.children if isinstance(child, ProviderAccountsStack)]
    assert [s.stack_name for s in stacks] == [f"ProviderAccounts-{ENVIRONMENT}"]
    return stacks[0]


@pytest.fixture(scope="session")
def template(stack: ProviderAccountsStack) -> assertions.Template:
    """The synthesised CloudFormation template, for aws_cdk.assertions."""
    return assertions.Template.from_stack(stack)


@pytest.fixture(scope="session")
def template_json(template: assertions.Template) -> dict[str, Any]:
    """The template as plain JSON."""
    return template.to_json()


@pytest.fixture(scope="session")
def template_file(template_json: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template written to a file, for cfn-lint."""
    path = tmp_path_factory.mktemp("template") / "provider-accounts.template.json"
    path.write_text(json.dumps(template_json, indent=1))
    return path


def resources_of(template_json: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Logical id → properties of every resource of one CloudFormation type."""
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template_json["Resources"].items()
        if resource["Type"] == kind
    }
