"""One provisioned moto and one app for the tests of a module that leave AWS as they found it.

A module opts in with `pytestmark = pytest.mark.shared_aws`; a test of it that writes to AWS
opts out with `@pytest.mark.own_aws` and gets a moto of its own, as every other test does.
tests/conftest.py's `aws` and `app` fixtures choose between the two; its docstring holds the
contract. Before each test the shared app starts over (see `SharedAws.start_over`); after it,
the guard fails the test if AWS is not exactly as the bootstrap and the seed left it: every
item of both tables and every user of the pool (its status, enabled flag and attributes).
Other moto state (the pool's own settings, tokens moto issued, mail sent through SES) is not
compared: a test that signs in, reconfigures the pool or sends through SES is not a shared test.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from core.config import Settings
from core.local.bootstrap import bootstrap
from core.local.stack import seed_file
from handlers.context import EXTENSION_KEY
from tests.support.background import DRAIN_SECONDS
from tests.support.data import LICENSES_CSV

SHARED_MARK = "shared_aws"
OWN_MARK = "own_aws"


def in_shared_module(item: pytest.Item) -> bool:
    """Whether the test's module (or class, or the test) asked for the shared AWS."""
    return item.get_closest_marker(SHARED_MARK) is not None


def shares_aws(item: pytest.Item) -> bool:
    """Whether the test runs on its module's shared AWS and app (not marked `own_aws`)."""
    return in_shared_module(item) and item.get_closest_marker(OWN_MARK) is None


def use_fake_credentials(patch: pytest.MonkeyPatch, region: str) -> None:
    """The environment every boto3 client of a test needs to reach moto in-process."""
    patch.setenv("AWS_ACCESS_KEY_ID", "testing")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    patch.setenv("AWS_DEFAULT_REGION", region)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)


def provision(settings: Settings) -> Settings:
    """Both tables and the user pool by the service's bootstrap, seeded; moto must be active."""
    session = boto3.session.Session(region_name=settings.aws_region)
    provisioned = bootstrap(settings, session.client("dynamodb"), session.client("cognito-idp"))
    ready = settings.model_copy(update=provisioned.as_settings())
    seed_file(ready, LICENSES_CSV)
    return ready


@dataclass(frozen=True)
class AwsState:
    """What a test could leave behind: every item of both tables, every user of the pool."""

    items: dict[str, frozenset[str]]  # table name -> items, each as canonical JSON
    users: frozenset[str]  # each user (name, status, enabled, attributes) as canonical JSON


def aws_state(settings: Settings) -> AwsState:
    """Read the whole state of the tables and the pool, strongly consistent."""
    session = boto3.session.Session(region_name=settings.aws_region)
    dynamodb, cognito = session.client("dynamodb"), session.client("cognito-idp")
    items = {}
    for table in (settings.provider_table, settings.rate_limit_table):
        pages = dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        items[table] = frozenset(_canonical(item) for page in pages for item in page["Items"])
    pages = cognito.get_paginator("list_users").paginate(UserPoolId=settings.user_pool_id)
    users = frozenset(_canonical_user(user) for page in pages for user in page["Users"])
    return AwsState(items, users)


def _canonical_user(user: dict[str, Any]) -> str:
    attributes = sorted((a["Name"], a["Value"]) for a in user.get("Attributes", []))
    fields = {key: user.get(key) for key in ("Username", "UserStatus", "Enabled")}
    return _canonical(fields | {"Attributes": attributes})


def changes(before: AwsState, after: AwsState) -> list[str]:
    """What differs, one line per table or pool: counts and the keys of changed items."""
    found = []
    for table, items in after.items.items():
        added, removed = items - before.items[table], before.items[table] - items
        if added or removed:
            keys = sorted({_key(item) for item in added | removed})
            found.append(f"{table}: {len(added)} items written, {len(removed)} gone, keys {keys}")
    if after.users != before.users:
        added, removed = after.users - before.users, before.users - after.users
        found.append(f"user pool: {len(added)} users written, {len(removed)} gone")
    return found


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _key(item: str) -> str:
    attributes = json.loads(item)
    return "/".join(
        str(next(iter(attributes[k].values()))) for k in ("pk", "sk") if k in attributes
    )


class SharedAws:
    """A module's moto, provisioned once, and its app, built on first use; reset per test."""

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir
        self._forget()

    def _forget(self) -> None:
        self._patch: pytest.MonkeyPatch | None = None
        self._mock: Any = None
        self._base: Settings | None = None
        self._ready: Settings | None = None
        self._seeded: AwsState | None = None
        self._app: Any = None

    @contextmanager
    def serving(self, settings: Settings, test: str) -> Iterator[Settings]:
        """The shared AWS for one test: opened if need be, started over, checked afterwards.

        `settings` are the test's own: the shared AWS serves them with the module's outbox,
        and is provisioned again if they differ from those it was provisioned for.
        """
        base = settings.model_copy(update={"outbox_dir": self.outbox_dir})
        if self._ready is not None and base != self._base:
            self.close()
        if self._ready is None:
            self._open(base)
        assert self._ready is not None
        self.start_over()
        yield self._ready
        self._check_unchanged(test)

    @property
    def app(self) -> Any:
        """The Connexion app on the shared AWS, built the first time a test asks for it."""
        if self._app is None:
            from handlers.app import create_app

            assert self._ready is not None, "the shared AWS is not open"
            self._app = create_app(self._ready)
        return self._app

    def start_over(self) -> None:
        """Empty the outbox; reset the app's per-IP counts, verified tokens, keys and readiness."""
        shutil.rmtree(self.outbox_dir, ignore_errors=True)
        if self._app is None:
            return
        for limiter in self._app.app.extensions.get("limiter", ()):
            limiter.reset()
        dependencies = self._app.app.extensions[EXTENSION_KEY]
        dependencies.verifier.forget()
        dependencies.readiness.forget()

    def close(self) -> None:
        """Stop moto (its state is gone) and restore the environment; the app goes too."""
        if self._mock is not None:
            self._mock.stop()
        if self._patch is not None:
            self._patch.undo()
        self._forget()

    def _open(self, base: Settings) -> None:
        self._patch = pytest.MonkeyPatch()
        use_fake_credentials(self._patch, base.aws_region)
        self._mock = mock_aws()
        self._mock.start()
        self._base = base
        self._ready = provision(base)
        self._seeded = aws_state(self._ready)

    def _check_unchanged(self, test: str) -> None:
        """Fail loudly if the test changed AWS: the next test would see it otherwise."""
        assert self._ready is not None
        assert self._seeded is not None
        if self._app is not None:
            idle = self._app.app.extensions[EXTENSION_KEY].background.wait_idle(DRAIN_SECONDS)
            assert idle, f"{test}: the shared app's background work did not finish"
        found = changes(self._seeded, aws_state(self._ready))
        if found:
            self.close()  # the next test gets a fresh one
            raise AssertionError(
                f"{test} changed the AWS its module shares ({'; '.join(found)}): "
                f"mark it @pytest.mark.{OWN_MARK} so that it gets an AWS of its own"
            )
