"""The provider-accounts command against a moto server started for the test."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

import cli
from core.adapters.dynamo_table import DynamoTable
from core.adapters.key_layout import provider_pk, provider_sk
from core.adapters.providers import DynamoProviderStore
from core.clock import utc_now
from core.models import RequestOrigin
from tests.support.data import ALICE, LICENSES_CSV
from tests.support.stored_events import stored_events

REGION = "us-east-1"
BOB_UNKNOWN = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A moto server on a free loopback port, for this module; yields its URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def endpoint(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The server, emptied; the environment points the CLI at it (core/config.py reads it)."""
    requests.post(f"{server}/moto-api/reset", timeout=5).raise_for_status()
    for name in ("USER_POOL_ID", "USER_POOL_CLIENT_ID", "PROVIDER_TABLE", "RATE_LIMIT_TABLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "local")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", server)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return server


def provider_items(endpoint: str) -> list[dict]:
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    return list(dynamodb.scan(TableName="provider-accounts-providers")["Items"])


def test_bootstrap_prints_the_ids_and_is_idempotent(
    endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When bootstrap runs twice
    first_code = cli.main(["bootstrap"])
    first = capsys.readouterr()
    second_code = cli.main(["bootstrap"])
    second = capsys.readouterr()

    # Then both succeed and print the same ids as JSON
    assert (first_code, second_code) == (0, 0)
    printed = json.loads(first.out)
    assert json.loads(second.out) == printed
    assert printed["provider_table"] == "provider-accounts-providers"
    assert printed["rate_limit_table"] == "provider-accounts-rate-limits"
    assert printed["user_pool_id"].startswith(f"{REGION}_")
    assert printed["user_pool_client_id"]
    # And the server holds one pool with that id
    cognito = boto3.client("cognito-idp", region_name=REGION, endpoint_url=endpoint)
    pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
    assert [p["Id"] for p in pools] == [printed["user_pool_id"]]


def test_seed_loads_a_file_and_reports_the_count(
    endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a bootstrapped stack
    assert cli.main(["bootstrap"]) == 0
    capsys.readouterr()

    # When a license file is seeded
    code = cli.main(["seed", str(LICENSES_CSV)])

    # Then it succeeds, says how many, and the records are there
    out = capsys.readouterr()
    assert (code, out.out, out.err) == (0, "loaded 3 license records\n", "")
    assert sorted(i["type"]["S"] for i in provider_items(endpoint)) == [
        "license",
        "license",
        "license",
        "provider",
        "provider",
    ]


def test_seed_with_a_bad_row_exits_1_and_loads_nothing(
    endpoint: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a bootstrapped stack and a file whose third line has a three-digit SSN
    assert cli.main(["bootstrap"]) == 0
    capsys.readouterr()
    rows = LICENSES_CSV.read_text().splitlines()
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([rows[0], rows[1], rows[2].replace(",6183,", ",618,")]) + "\n")

    # When it is seeded
    code = cli.main(["seed", str(path)])

    # Then exit code 1, the line and reason on stderr, and nothing loaded
    out = capsys.readouterr()
    assert (code, out.out) == (1, "")
    assert out.err == (
        f"provider-accounts: {path}: line 3: ssnLastFour must be exactly 4 digits; "
        "nothing was loaded\n"
    )
    assert provider_items(endpoint) == []


@pytest.mark.parametrize("problem", ["missing", "not utf-8"])
def test_a_file_that_cannot_be_read_exits_1_without_a_traceback(
    endpoint: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, problem: str
) -> None:
    # Given a bootstrapped stack, and a path that is missing or holds Latin-1 text
    assert cli.main(["bootstrap"]) == 0
    capsys.readouterr()
    path = tmp_path / "licenses.csv"
    if problem == "not utf-8":
        path.write_bytes(
            LICENSES_CSV.read_text().replace("Quillon", "Quill\xf3n").encode("latin-1")
        )

    # When it is seeded
    code = cli.main(["seed", str(path)])

    # Then exit code 1 with a one-line reason, and nothing loaded
    out = capsys.readouterr()
    assert (code, out.out) == (1, "")
    assert out.err.startswith("provider-accounts: ")
    assert out.err.endswith("; nothing was loaded\n")
    assert out.err.count("\n") == 1
    assert "Traceback" not in out.err
    assert provider_items(endpoint) == []


def test_invalid_settings_exit_2_naming_what_is_missing(
    endpoint: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given APP_ENV=aws without its required secrets
    monkeypatch.setenv("APP_ENV", "aws")
    monkeypatch.delenv("RECAPTCHA_SECRET", raising=False)

    # When any command runs
    code = cli.main(["bootstrap"])

    # Then exit code 2 and a one-line reason, and nothing was provisioned
    out = capsys.readouterr()
    assert (code, out.out) == (2, "")
    assert out.err == (
        "provider-accounts: invalid settings: settings: Value error, APP_ENV=aws requires "
        "RECAPTCHA_SECRET, USER_POOL_ID, USER_POOL_CLIENT_ID to be set in the environment\n"
    )
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    assert dynamodb.list_tables()["TableNames"] == []


def test_unlock_reopens_a_locked_account_and_records_the_operator(
    endpoint: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a provisioned, seeded stack where Alice's account was locked by "Not me"
    assert cli.main(["bootstrap"]) == 0
    for name, value in json.loads(capsys.readouterr().out).items():
        monkeypatch.setenv(name.upper(), value)
    assert cli.main(["seed", str(LICENSES_CSV)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("USER", "ops-jane")  # getpass reads the OS user from here first
    table = boto3.resource("dynamodb", region_name=REGION, endpoint_url=endpoint).Table(
        "provider-accounts-providers"
    )
    cognito = boto3.client("cognito-idp", region_name=REGION, endpoint_url=endpoint)
    pool = os.environ["USER_POOL_ID"]
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    providers = DynamoTable(dynamodb, "provider-accounts-providers")
    store = DynamoProviderStore(providers)
    alice = store.get(ALICE["compact"], ALICE["providerId"])
    assert alice is not None
    email = "quillon@example.test"
    table.update_item(
        Key={"pk": provider_pk("aslp", alice.provider_id), "sk": provider_sk("aslp")},
        UpdateExpression="SET registeredEmail = :e",
        ExpressionAttributeValues={":e": email},
    )
    cognito.admin_create_user(
        UserPoolId=pool,
        Username=email,
        TemporaryPassword="Temp-Pass-123!",
        MessageAction="SUPPRESS",
    )
    cognito.admin_disable_user(UserPoolId=pool, Username=email)
    store.lock(alice, utc_now(), RequestOrigin("198.51.100.7", "Firefox on Linux"))
    # When an operator unlocks it
    code = cli.main(["unlock", "--compact", "aslp", "--provider-id", alice.provider_id])
    # Then it says so, the record is unlocked, the user enabled, and the history names the operator
    assert (code, capsys.readouterr().out) == (
        0,
        f"unlocked aslp/{alice.provider_id} (by ops-jane)\n",
    )
    unlocked = store.get("aslp", alice.provider_id)
    assert unlocked is not None
    assert unlocked.locked_at is None
    assert cognito.admin_get_user(UserPoolId=pool, Username=email)["Enabled"] is True
    (latest, _) = stored_events(providers, "aslp", alice.provider_id, 2)
    assert (latest.event_type, latest.origin) == (
        "account_unlocked",
        RequestOrigin(browser="operator ops-jane"),
    )
    # When it is run again, the account is not locked: exit 1, nothing changes
    code = cli.main(["unlock", "--compact", "aslp", "--provider-id", alice.provider_id])
    last_line = capsys.readouterr().err.splitlines()[-1]  # after the service's log lines
    assert (code, last_line) == (1, f"provider-accounts: aslp/{alice.provider_id} is not locked")
    # And an unknown provider is named as such
    code = cli.main(["unlock", "--compact", "aslp", "--provider-id", BOB_UNKNOWN])
    last_line = capsys.readouterr().err.splitlines()[-1]
    assert (code, last_line) == (1, f"provider-accounts: no provider aslp/{BOB_UNKNOWN}")
