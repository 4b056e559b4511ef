"""Shared fixtures: settings, an in-process moto AWS, the app and its test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from core.config import Settings
from core.local.bootstrap import bootstrap
from core.local.stack import seed_file
from tests.support.data import LICENSES_CSV

# Captures every log line of the suite; tests/test_logs_hold_no_secrets.py checks them last.
pytest_plugins = ["tests.support.log_capture"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Local settings: outbox in a temp folder, floors off, cheap argon2, limits on."""
    return Settings(
        app_env="local",
        aws_region="us-east-1",
        outbox_dir=tmp_path / "outbox",
        response_floors="off",
        ip_rate_limits="on",
        argon2_time_cost=1,
        argon2_memory_cost_kib=1024,
        argon2_parallelism=1,
        ui_base_url="https://app.example.test",
    )


@pytest.fixture
def aws(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """moto in-process, provisioned and seeded; yields settings pointing at it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", settings.aws_region)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        session = boto3.session.Session(region_name=settings.aws_region)
        provisioned = bootstrap(settings, session.client("dynamodb"), session.client("cognito-idp"))
        ready = settings.model_copy(update=provisioned.as_settings())
        seed_file(ready, LICENSES_CSV)
        yield ready


@pytest.fixture
def app(aws: Settings):  # noqa: ANN201 - the Connexion app
    """The Connexion app wired to moto."""
    from handlers.app import create_app

    return create_app(aws)


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    """A test client for the Connexion app (not its inner Flask app)."""
    with app.test_client() as test_client:
        yield test_client
