"""The synthesised template passes cfn-lint (CloudFormation's own schemas and rules)."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint_file

# W3005 flags a DependsOn that CDK's ECS pattern adds next to a Ref: harmless and not ours.
IGNORED = ["W3005"]


def test_the_template_passes_cfn_lint(template_file):
    # When cfn-lint checks the template
    matches = lint_file(template_file, config=ManualArgs(ignore_checks=IGNORED))
    # Then it reports nothing: no error, no warning
    assert [str(match) for match in matches] == []
