"""DynamoLicenseStore on moto: matching a license by every stated fact."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from core.adapters.licenses import DynamoLicenseStore
from core.models import License, LicenseFacts
from tests.integration.conftest import Tables
from tests.support.data import ALICE

ALICE_FACTS = LicenseFacts(
    compact="aslp",
    jurisdiction="oh",
    given_name="Quillon",
    family_name="Vantreska",
    date_of_birth=date(1979, 8, 23),
    ssn_last_four="6183",
    license_type="audiologist",
)
ALICE_OH = License(
    provider_id=ALICE["providerId"],
    compact="aslp",
    jurisdiction="oh",
    license_type="audiologist",
    license_number="OH-AUD-1",
    given_name="Quillon",
    family_name="Vantreska",
    date_of_birth=date(1979, 8, 23),
    ssn_last_four="6183",
    license_status="active",
)
TWIN_ID = "7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"


@pytest.fixture
def licenses(tables: Tables) -> DynamoLicenseStore:
    return DynamoLicenseStore(tables.dynamo_providers)


def test_every_fact_matching_finds_the_license(licenses: DynamoLicenseStore) -> None:
    assert licenses.find_match(ALICE_FACTS) == ALICE_OH


def test_the_jurisdiction_selects_which_license(licenses: DynamoLicenseStore) -> None:
    found = licenses.find_match(replace(ALICE_FACTS, jurisdiction="ky"))
    assert found == replace(ALICE_OH, jurisdiction="ky", license_number="KY-AUD-1")


def test_names_match_whatever_their_case_and_surrounding_spaces(
    licenses: DynamoLicenseStore,
) -> None:
    facts = replace(ALICE_FACTS, given_name="  qUILLON ", family_name="VANTRESKA")
    assert licenses.find_match(facts) == ALICE_OH


@pytest.mark.parametrize(
    "wrong",
    [
        {"compact": "octp"},
        {"jurisdiction": "ca"},
        {"given_name": "Quillan"},
        {"family_name": "Vantresk"},
        {"date_of_birth": date(1979, 8, 24)},
        {"ssn_last_four": "6184"},
        {"license_type": "speech-language pathologist"},
    ],
    ids=lambda wrong: next(iter(wrong)),
)
def test_one_wrong_fact_matches_nothing(licenses: DynamoLicenseStore, wrong: dict) -> None:
    assert licenses.find_match(replace(ALICE_FACTS, **wrong)) is None


def test_two_providers_with_identical_facts_match_neither(licenses: DynamoLicenseStore) -> None:
    # Given another provider whose license states exactly Alice's facts
    licenses.put(replace(ALICE_OH, provider_id=TWIN_ID, license_number="OH-AUD-9"))

    # When those facts are looked up / Then neither can be told apart, so none is returned
    assert licenses.find_match(ALICE_FACTS) is None


def test_a_namesake_with_other_facts_does_not_hide_the_match(licenses: DynamoLicenseStore) -> None:
    # Given another provider with Alice's names but another date of birth
    licenses.put(
        replace(ALICE_OH, provider_id=TWIN_ID, date_of_birth=date(1980, 1, 1), license_number="X")
    )

    # Then Alice's facts still find her license, and the namesake's find theirs
    assert licenses.find_match(ALICE_FACTS) == ALICE_OH
    twin = licenses.find_match(replace(ALICE_FACTS, date_of_birth=date(1980, 1, 1)))
    assert twin is not None
    assert twin.provider_id == TWIN_ID


def test_list_for_provider_returns_all_of_its_licenses(licenses: DynamoLicenseStore) -> None:
    found = licenses.list_for_provider("aslp", ALICE["providerId"])
    assert sorted(found, key=lambda lic: lic.jurisdiction) == [
        replace(ALICE_OH, jurisdiction="ky", license_number="KY-AUD-1"),
        ALICE_OH,
    ]
    assert licenses.list_for_provider("octp", ALICE["providerId"]) == []
