"""Shared fixtures: settings, an in-process moto AWS, the app and its test client.

The fixtures' contract (tests anywhere under tests/ may rely on it):

- `settings`: a fresh `Settings` per test: APP_ENV=local, region us-east-1, mail to the outbox
  folder `settings.outbox_dir` (inside the test's own `tmp_path`, so it starts empty), floors
  off, argon2 at its cheapest, per-IP limits on, UI at https://app.example.test. A folder's
  conftest may override it (tests/reliability does) and `aws`, `app`, `client` follow.
- `aws`: moto in-process (`mock_aws`), started empty for this test and provisioned by the
  service's own bootstrap (both tables, the user pool and its app client) and seeded from
  tests/support/licenses.csv; yields `settings` updated with the table names and pool ids.
  While it is active, ANY boto3 client or resource the test builds itself, with no
  endpoint_url, reaches the same moto: the environment holds fake credentials, the region, and
  no AWS_ENDPOINT_URL. Nothing of one test's AWS is visible to the next. moto's DynamoDB
  item calls run one at a time in every test process, as in the embedded stack
  (core/local/moto_dynamodb.py): DynamoDB's atomicity, without moto's thread races.
- `app`: `create_app(aws)`, a new Connexion app per test (its limiter counts, caches and
  services start fresh). Build another with `create_app(aws.model_copy(update=...))`.
- `client`: the Connexion app's test client (never the inner Flask app's), new for each test.
- A module whose tests leave AWS as they found it may say `pytestmark = pytest.mark.shared_aws`
  (tests/support/shared_aws.py): its tests then share one moto, provisioned and seeded once,
  and one app, built from the same settings; a test of it that writes to AWS is marked
  `@pytest.mark.own_aws` and gets everything above of its own. Each shared test still sees what
  a fresh one would: the outbox (one folder for the module: read `aws.outbox_dir`, not
  `settings.outbox_dir`) is emptied, and the app's
  per-IP counts, verified ID tokens, cached signing keys and readiness result are dropped before
  it; its client is its own. After it, the app's background work is awaited and both tables and
  the user pool must hold exactly what the seed left, or the test fails, naming what it wrote
  and asking for `own_aws`. Settings that differ from those the module's AWS was provisioned
  for (a conftest overriding `settings`) provision it again. moto runs for the module's
  lifetime, is stopped before an `own_aws` test starts its own (moto's state is one per
  process), and stops, with the environment restored, when the module ends.

Speed, without changing what a test sees:

- The `shared_aws` modules (above) provision moto and build their app once per module, not
  once per test.
- Every botocore session of the test process shares one data loader (`_one_botocore_loader`),
  so the JSON service models and endpoint rules are parsed once per process, not once per
  client of every app; the clients, sessions and their event hooks stay per app. Likewise
  moto's user pools share the one signing key moto ships, parsed once per process, and every
  app of a process reads the OpenAPI document parsed once (handlers/spec_extensions.py).
- `make test` runs the suite on pytest-xdist workers (`-n <CPUs + 1> --dist loadgroup`): a test may
  run on any worker, in any order, beside a test of another worker, so it must not depend on
  another test having run, nor use a fixed port or a shared file (use `tmp_path` and free
  ports). Tests that must share one process (a module-scoped server, results gathered across
  tests) or must not overlap each other (upper bounds on response times) get one xdist group
  in XDIST_GROUPS below. `pytest` without `-n` runs everything in one process, as before.
- tests/test_logs_hold_no_secrets.py runs last on its worker and reads every worker's logs
  (tests/support/log_capture.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws

from core.config import Settings
from core.local.moto_dynamodb import serialise_moto_dynamodb
from handlers.context import EXTENSION_KEY
from tests.support.background import DRAIN_SECONDS, draining_client
from tests.support.moto_user_pool_key import parse_user_pool_key_once
from tests.support.shared_aws import (
    SharedAws,
    in_shared_module,
    provision,
    shares_aws,
    use_fake_credentials,
)

# Captures every log line of the suite; tests/test_logs_hold_no_secrets.py checks them last.
pytest_plugins = ["tests.support.log_capture"]

TESTS = Path(__file__).resolve().parent
# Paths (under tests/) whose tests run together, one after another, on one xdist worker;
# "{module}" in a group's name makes one group of each module under the path.
XDIST_GROUPS = {
    # Upper bounds on response times measured in this process: they never overlap each other.
    "api/test_response_floors.py": "timed-in-process",
    "reliability/test_enumeration.py": "timed-in-process",
    # Real server processes: a module's tests share one worker, so that its server starts once,
    # not once per worker. Two modules' servers may run at once, one per worker: a start-up
    # takes a few seconds of the 30 s allowed, and what they time are floors (lower bounds).
    "e2e": "servers:{module}",
    "multi_instance": "servers:{module}",
    "reliability/test_timing_under_load.py": "servers:{module}",
    # Writes docs/RELIABILITY.md only when every cell ran in the same process.
    "reliability/test_fault_matrix.py": "fault-matrix",
}


def xdist_group_of(path: Path) -> str | None:
    """The xdist group of a test file, from XDIST_GROUPS."""
    try:
        relative = path.resolve().relative_to(TESTS).as_posix()
    except ValueError:  # a test outside tests/
        return None
    for prefix, group in XDIST_GROUPS.items():
        if relative == prefix or relative.startswith(f"{prefix}/"):
            return group.format(module=relative)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of XDIST_GROUPS (before xdist reads the marks)."""
    for item in items:
        group = xdist_group_of(item.path)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session", autouse=True)
def _one_botocore_loader() -> Iterator[None]:
    """Parse botocore's service models and endpoint rules once for the whole test process.

    Each app builds its clients from fresh boto3 sessions, and each session loads the models
    again (about 0.5 s of CPU per app). The loader only reads botocore's packaged data files,
    so sharing it changes no client's behaviour.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            botocore.session, "create_loader", functools.cache(botocore.loaders.create_loader)
        )
        yield


@pytest.fixture(scope="session", autouse=True)
def _moto_user_pool_key_parsed_once() -> Iterator[None]:
    """moto's one packaged signing key, parsed for the process's first user pool, not for each
    (tests/support/moto_user_pool_key.py)."""
    with pytest.MonkeyPatch.context() as patch:
        parse_user_pool_key_once(patch)
        yield


@pytest.fixture(scope="session", autouse=True)
def _moto_dynamodb_one_call_at_a_time() -> None:
    """moto's DynamoDB as the embedded stack runs it: one item call at a time, so that the
    service's request and background threads meet DynamoDB's atomicity, not moto's races."""
    serialise_moto_dynamodb()


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


@pytest.fixture(scope="module")
def shared_aws_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedAws]:
    """The AWS and app shared by the tests of a `shared_aws` module (opened on first use)."""
    shared = SharedAws(tmp_path_factory.mktemp("shared-aws") / "outbox")
    yield shared
    shared.close()


@pytest.fixture
def aws(
    request: pytest.FixtureRequest, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """moto in-process, provisioned and seeded; yields settings pointing at it."""
    if in_shared_module(request.node):
        shared: SharedAws = request.getfixturevalue("shared_aws_stack")
        if shares_aws(request.node):
            with shared.serving(settings, request.node.nodeid) as ready:
                yield ready
            return
        # moto's state is one per process: the module's shared AWS ends before this test's own.
        shared.close()
    use_fake_credentials(monkeypatch, settings.aws_region)
    with mock_aws():
        yield provision(settings)


@pytest.fixture
def app(request: pytest.FixtureRequest, aws: Settings):  # noqa: ANN201 - the Connexion app
    """The Connexion app wired to moto (the module's shared app in a `shared_aws` module)."""
    if shares_aws(request.node):
        yield request.getfixturevalue("shared_aws_stack").app
        return
    from handlers.app import create_app

    built = create_app(aws)
    yield built
    # Its background threads end with it, as at a server's exit, rather than idle to the end.
    assert built.app.extensions[EXTENSION_KEY].background.shutdown(DRAIN_SECONDS)


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    """A test client for the Connexion app (not its inner Flask app), draining its work."""
    with draining_client(app) as test_client:
        yield test_client
