"""Provisioning and seeding on moto: bootstrap is idempotent; a bad seed row loads nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.adapters.licenses import DynamoLicenseStore
from core.config import Settings
from core.local.bootstrap import CLIENT_NAME, POOL_NAME, Provisioned, bootstrap
from core.local.seed import COLUMNS, SeedError
from core.local.stack import seed_file
from tests.integration.conftest import Clients, Tables
from tests.support.data import LICENSES_CSV

HEADER = ",".join(COLUMNS)
GOOD_ROW = (
    "1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f,aslp,oh,audiologist,OH-AUD-1,"
    "Quillon,Vantreska,1979-08-23,6183,active"
)


def count_pools_clients_tables(moto: Clients) -> tuple[int, int, int]:
    pools = moto.cognito.list_user_pools(MaxResults=60)["UserPools"]
    clients = sum(
        len(moto.cognito.list_user_pool_clients(UserPoolId=p["Id"])["UserPoolClients"])
        for p in pools
    )
    return len(pools), clients, len(moto.dynamodb.list_tables()["TableNames"])


def test_bootstrap_creates_everything_once(moto: Clients, settings: Settings) -> None:
    # Given an empty account
    # When bootstrap runs twice
    first = bootstrap(settings, moto.dynamodb, moto.cognito)
    second = bootstrap(settings, moto.dynamodb, moto.cognito)

    # Then the second run finds what the first created, and creates nothing new
    assert second == first
    assert first.provider_table == settings.provider_table
    assert first.rate_limit_table == settings.rate_limit_table
    assert count_pools_clients_tables(moto) == (1, 1, 2)
    assert first.as_settings() == {
        "provider_table": settings.provider_table,
        "rate_limit_table": settings.rate_limit_table,
        "user_pool_id": first.user_pool_id,
        "user_pool_client_id": first.user_pool_client_id,
    }


def test_the_pool_requires_mfa_and_strong_passwords(moto: Clients, settings: Settings) -> None:
    ids = bootstrap(settings, moto.dynamodb, moto.cognito)

    pool = moto.cognito.describe_user_pool(UserPoolId=ids.user_pool_id)["UserPool"]
    mfa = moto.cognito.get_user_pool_mfa_config(UserPoolId=ids.user_pool_id)

    assert pool["Name"] == POOL_NAME
    assert pool["MfaConfiguration"] == "ON"
    assert mfa["MfaConfiguration"] == "ON"
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert pool["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 12,
        "RequireUppercase": True,
        "RequireLowercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "TemporaryPasswordValidityDays": 7,
    }
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    custom = {a["Name"] for a in pool["SchemaAttributes"] if a["Name"].startswith("custom:")}
    assert custom == {"custom:compact", "custom:providerId"}


def test_the_app_client_has_no_secret_and_hides_user_existence(
    moto: Clients, settings: Settings
) -> None:
    ids = bootstrap(settings, moto.dynamodb, moto.cognito)

    client = moto.cognito.describe_user_pool_client(
        UserPoolId=ids.user_pool_id, ClientId=ids.user_pool_client_id
    )["UserPoolClient"]

    assert client["ClientName"] == CLIENT_NAME
    assert "ClientSecret" not in client
    assert sorted(client["ExplicitAuthFlows"]) == [
        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
    ]
    assert client["PreventUserExistenceErrors"] == "ENABLED"


def test_the_tables_have_their_keys_index_and_ttl(moto: Clients, settings: Settings) -> None:
    bootstrap(settings, moto.dynamodb, moto.cognito)

    providers = moto.dynamodb.describe_table(TableName=settings.provider_table)["Table"]
    ttl = moto.dynamodb.describe_time_to_live(TableName=settings.rate_limit_table)

    assert [k["AttributeName"] for k in providers["KeySchema"]] == ["pk", "sk"]
    assert [i["IndexName"] for i in providers["GlobalSecondaryIndexes"]] == ["licenseLookup"]
    assert providers["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


def test_bootstrap_uses_a_configured_pool_instead_of_creating_one(
    moto: Clients, settings: Settings
) -> None:
    configured = settings.model_copy(
        update={"user_pool_id": "us-east-1_Configured", "user_pool_client_id": "configured"}
    )

    ids = bootstrap(configured, moto.dynamodb, moto.cognito)

    assert ids == Provisioned(
        settings.provider_table, settings.rate_limit_table, "us-east-1_Configured", "configured"
    )
    assert count_pools_clients_tables(moto) == (0, 0, 2)


# --- seed ------------------------------------------------------------------------------------


def test_seeding_loads_licenses_and_their_providers(tables: Tables, settings: Settings) -> None:
    # Given the tables hold the suite's licenses already (the fixture seeded them)
    before = tables.providers.scan()["Items"]

    # When the same file is seeded again / Then it reports the count and changes nothing
    assert seed_file(settings, LICENSES_CSV) == 3
    after = tables.providers.scan()["Items"]
    assert sorted(map(str, after)) == sorted(map(str, before))
    assert sorted(i["type"] for i in after) == [
        "license",
        "license",
        "license",
        "provider",
        "provider",
    ]
    ky = DynamoLicenseStore(tables.dynamo_providers).list_for_provider(
        "aslp", "1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f"
    )
    assert sorted(lic.license_number for lic in ky) == ["KY-AUD-1", "OH-AUD-1"]


# Each bad row is GOOD_ROW with one value replaced: (old, new, the reason reported)
BAD_ROWS = {
    "providerId not a UUID": (
        "1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f",
        "not-a-uuid",
        "providerId is not a UUID",
    ),
    "unknown compact": ("aslp,oh", "xyz,oh", "unknown compact 'xyz'"),
    "unknown jurisdiction": (",oh,", ",zz,", "unknown jurisdiction 'zz'"),
    "license type of another compact": (
        "audiologist",
        "occupational therapist",
        "license type 'occupational therapist' is not in compact aslp",
    ),
    "short SSN": ("6183", "618", "ssnLastFour must be exactly 4 digits"),
    "impossible date": ("1979-08-23", "1979-02-30", "dateOfBirth must be a real YYYY-MM-DD date"),
    "empty field": ("Quillon", "", "empty givenName"),
}


@pytest.mark.parametrize("case", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_row_aborts_naming_its_line_and_loads_nothing(
    moto: Clients, settings: Settings, tmp_path: Path, case: tuple[str, str, str]
) -> None:
    # Given empty tables and a file whose third line is bad
    bootstrap(settings, moto.dynamodb, moto.cognito)
    old, new, reason = case
    bad_row = GOOD_ROW.replace(old, new, 1)
    good_second = GOOD_ROW.replace("oh,audiologist,OH-AUD-1", "ky,audiologist,KY-AUD-1")
    path = tmp_path / "licenses.csv"
    path.write_text(f"{HEADER}\n{good_second}\n{bad_row}\n{GOOD_ROW}\n")

    # When it is seeded / Then the error names the file, the line and the reason
    with pytest.raises(SeedError) as raised:
        seed_file(settings, path)
    assert str(raised.value) == f"{path}: line 3: {reason}"
    # And not even the good rows before it were written
    assert moto.dynamodb.scan(TableName=settings.provider_table)["Count"] == 0


def test_a_file_missing_a_column_is_refused_at_line_1(
    moto: Clients, settings: Settings, tmp_path: Path
) -> None:
    bootstrap(settings, moto.dynamodb, moto.cognito)
    path = tmp_path / "licenses.csv"
    path.write_text(HEADER.replace(",ssnLastFour", "") + "\n")

    with pytest.raises(SeedError) as raised:
        seed_file(settings, path)

    assert str(raised.value) == f"{path}: line 1: missing columns ssnLastFour"
    assert moto.dynamodb.scan(TableName=settings.provider_table)["Count"] == 0
