"""`cdk synth` / `cdk deploy` entry point: one stack per environment name (-c env=NAME)."""

from __future__ import annotations

import aws_cdk as cdk

from infra.stack import ProviderAccountsStack


def build_app(app: cdk.App | None = None) -> cdk.App:
    """The app with the stack of the environment named by the `env` context (default dev)."""
    app = app or cdk.App()
    environment = str(app.node.try_get_context("env") or "dev")
    ProviderAccountsStack(app, f"ProviderAccounts-{environment}", environment_name=environment)
    return app


if __name__ == "__main__":
    build_app().synth()
