"""The AWS and app shared by a `shared_aws` module: reset before each test, guarded after it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from core.models import MailMessage
from handlers.context import EXTENSION_KEY
from tests.support.background import draining_client
from tests.support.data import ALICE, registration_body
from tests.support.mail import read_outbox
from tests.support.shared_aws import OWN_MARK, SharedAws, aws_state

REGISTRATION = "/v1/provider-users/registration"
NOBODY = registration_body({**ALICE, "partialSocial": "0000"}, "n@example.com")


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[SharedAws]:
    stack = SharedAws(tmp_path / "shared-outbox")
    yield stack
    stack.close()


def test_tests_that_only_read_share_one_provisioned_aws_and_app(shared, settings):
    # Given one test read the seeded tables through the shared app
    with shared.serving(settings, "first") as first:
        app = shared.app
        with draining_client(app) as client:
            assert client.get("/v1/ready").status_code == 200
        seeded = aws_state(first)

    # When the next test of the module is served
    with shared.serving(settings.model_copy(), "second") as second:
        # Then it gets the same pool, the same app and the state the seed left
        assert (second.user_pool_id, second.outbox_dir) == (first.user_pool_id, shared.outbox_dir)
        assert shared.app is app
        assert aws_state(second) == seeded


def test_a_test_that_writes_fails_and_the_next_test_gets_a_fresh_aws(shared, settings):
    # Given a test of a shared module registers Alice through the shared app
    serving = shared.serving(settings, "tests/api/x.py::test_writes")
    with pytest.raises(AssertionError) as failure, serving as ready:  # noqa: PT012 - guard on exit
        with draining_client(shared.app) as client:
            client.post(REGISTRATION, json=registration_body(ALICE, "q@example.test"))
        written = aws_state(ready)

    # Then the guard fails it, naming the test, what it wrote, and the mark it needs
    message = str(failure.value)
    assert message.startswith("tests/api/x.py::test_writes changed the AWS its module shares (")
    assert "provider-accounts-providers: 3 items written, 1 gone" in message
    assert "user pool: 1 users written, 0 gone" in message
    assert message.endswith(f"mark it @pytest.mark.{OWN_MARK} so that it gets an AWS of its own")
    # And the next test sees none of it: a new moto, provisioned and seeded again
    with shared.serving(settings, "next") as fresh:
        assert fresh.user_pool_id != ready.user_pool_id
        assert aws_state(fresh) != written
        assert aws_state(fresh).users == frozenset()


def test_each_test_starts_with_an_empty_outbox_and_fresh_per_ip_counts(shared, settings):
    # Given a test used up the per-IP registration limit (3 per 15 minutes) and left mail
    with shared.serving(settings, "first") as ready:
        with draining_client(shared.app) as client:
            statuses = [client.post(REGISTRATION, json=NOBODY).status_code for _ in range(4)]
        dependencies = shared.app.app.extensions[EXTENSION_KEY]
        dependencies.registration.mailer.send(MailMessage("n@example.com", "Hi", "text", "<p/>"))
        assert statuses == [200, 200, 200, 429]
        assert len(read_outbox(ready.outbox_dir)) == 1

    # When the next test starts
    with shared.serving(settings, "second") as ready:
        # Then its outbox is empty and its first registrations are not refused
        assert read_outbox(ready.outbox_dir) == []
        with draining_client(shared.app) as client:
            assert client.post(REGISTRATION, json=NOBODY).status_code == 200


def test_other_settings_get_an_aws_and_app_of_their_own(shared, settings):
    with shared.serving(settings, "first") as first:
        app = shared.app

    with shared.serving(settings.model_copy(update={"ip_rate_limits": "off"}), "other") as other:
        assert other.user_pool_id != first.user_pool_id
        assert other.ip_rate_limits == "off"
        assert shared.app is not app


def test_closing_leaves_no_moto_and_no_environment_behind(shared, settings, monkeypatch):
    # Given a shared AWS was open with a table in it
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    with shared.serving(settings, "first") as ready:
        assert "AWS_ENDPOINT_URL" not in os.environ

    # When the module ends
    shared.close()

    # Then the environment is as before, and the next module's moto starts empty
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    with mock_aws():
        dynamodb = boto3.session.Session(region_name=ready.aws_region).client("dynamodb")
        assert dynamodb.list_tables()["TableNames"] == []
