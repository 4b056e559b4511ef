"""Unit fixtures: the core's services wired to in-memory fakes, and the test licensees."""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from core.background import BoundedExecutor
from core.emails import Links
from core.mail_caps import MailCapPolicy, MailCaps
from core.models import License, LicenseFacts, MailMessage, Provider
from core.services.accounts import user_attributes
from core.services.recovery import RecoveryDeps, RecoveryPolicy
from core.services.registration import RegistrationDeps, RegistrationPolicy
from core.token_hashing import Argon2TokenHasher
from tests.support.data import ALICE, BOB
from tests.support.fake_identity import FakeIdentity
from tests.support.fakes import (
    FakeAttemptCounter,
    FakeLicenseStore,
    FakeProviderStore,
    FakeRecaptcha,
    MutableClock,
    RecordingMailer,
)

UI = "https://app.example.test"
ALICE_EMAIL = "quillon.vantreska@example.test"
BOB_EMAIL = "zephrine@example.test"
ALICE_PASSWORD = "Orchid-Lantern-47!"
# The special characters Cognito's password policy counts as symbols (its documented list).
COGNITO_SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-"
_TEMPORARY_PASSWORD_LINE = re.compile(r"^Temporary password: (\S+)$", re.MULTILINE)


def license_of(person: dict[str, str], jurisdiction: str | None = None) -> License:
    """The license record of a test licensee (in another jurisdiction if given)."""
    place = jurisdiction or person["jurisdiction"]
    return License(
        provider_id=person["providerId"],
        compact=person["compact"],
        jurisdiction=place,
        license_type=person["licenseType"],
        license_number=f"{place.upper()}-{person['partialSocial']}",
        given_name=person["givenName"],
        family_name=person["familyName"],
        date_of_birth=date.fromisoformat(person["dob"]),
        ssn_last_four=person["partialSocial"],
        license_status="active",
    )


def facts_of(person: dict[str, str], **changes: Any) -> LicenseFacts:
    """The facts a test licensee states, with some changed if asked."""
    stated = LicenseFacts(
        compact=person["compact"],
        jurisdiction=person["jurisdiction"],
        given_name=person["givenName"],
        family_name=person["familyName"],
        date_of_birth=date.fromisoformat(person["dob"]),
        ssn_last_four=person["partialSocial"],
        license_type=person["licenseType"],
    )
    return replace(stated, **changes)


def temporary_password_in(message: MailMessage) -> str:
    """The password on the mail's `Temporary password:` line."""
    match = _TEMPORARY_PASSWORD_LINE.search(message.text)
    assert match, f"no temporary password line in {message.subject!r}"
    return match.group(1)


def assert_meets_policy(password: str) -> None:
    """The user pool's policy: 12+ characters with upper, lower, digit and symbol."""
    assert len(password) >= 12, password
    assert any(c in string.ascii_uppercase for c in password), password
    assert any(c in string.ascii_lowercase for c in password), password
    assert any(c in string.digits for c in password), password
    assert any(c in COGNITO_SYMBOLS for c in password), password
    assert set(password) <= set(string.ascii_letters + string.digits + COGNITO_SYMBOLS), password


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
def licenses() -> FakeLicenseStore:
    """Alice is licensed in oh and ky, Bob in co."""
    return FakeLicenseStore([license_of(ALICE), license_of(ALICE, "ky"), license_of(BOB)])


@pytest.fixture
def alice() -> Provider:
    """Alice's provider record as seeding leaves it: not registered."""
    return Provider(ALICE["providerId"], ALICE["compact"], ALICE["givenName"], ALICE["familyName"])


@pytest.fixture
def bob() -> Provider:
    return Provider(BOB["providerId"], BOB["compact"], BOB["givenName"], BOB["familyName"])


@pytest.fixture
def providers(alice: Provider, bob: Provider) -> FakeProviderStore:
    store = FakeProviderStore()
    store.add(alice)
    store.add(bob)
    return store


@pytest.fixture
def identity(clock: MutableClock) -> FakeIdentity:
    return FakeIdentity(clock)


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


@pytest.fixture
def recaptcha() -> FakeRecaptcha:
    return FakeRecaptcha()


@pytest.fixture
def attempts() -> FakeAttemptCounter:
    return FakeAttemptCounter()


@pytest.fixture(scope="session")
def hasher() -> Argon2TokenHasher:
    """The real argon2id hasher at its cheapest, so that hashes are real but fast."""
    return Argon2TokenHasher(time_cost=1, memory_cost_kib=8, parallelism=1)


@pytest.fixture
def links() -> Links:
    return Links(UI)


@pytest.fixture
def registration_deps(
    licenses: FakeLicenseStore,
    providers: FakeProviderStore,
    identity: FakeIdentity,
    mailer: RecordingMailer,
    recaptcha: FakeRecaptcha,
    clock: MutableClock,
    links: Links,
    attempts: FakeAttemptCounter,
) -> RegistrationDeps:
    caps = MailCaps(attempts, clock, MailCapPolicy())
    return RegistrationDeps(
        licenses, providers, identity, mailer, recaptcha, clock, RegistrationPolicy(links), caps
    )


@pytest.fixture
def recovery_deps(
    licenses: FakeLicenseStore,
    providers: FakeProviderStore,
    attempts: FakeAttemptCounter,
    identity: FakeIdentity,
    hasher: Argon2TokenHasher,
    mailer: RecordingMailer,
    recaptcha: FakeRecaptcha,
    clock: MutableClock,
    links: Links,
) -> RecoveryDeps:
    return RecoveryDeps(
        licenses,
        providers,
        attempts,
        identity,
        hasher,
        mailer,
        recaptcha,
        clock,
        RecoveryPolicy(links),
    )


@pytest.fixture
def registered_alice(
    providers: FakeProviderStore, identity: FakeIdentity, clock: MutableClock, alice: Provider
) -> Provider:
    """Alice registered a month ago, signed in, chose ALICE_PASSWORD and enrolled MFA."""
    registered = providers.add(
        replace(
            alice,
            registered_email=ALICE_EMAIL,
            home_jurisdiction="oh",
            registered_at=clock() - timedelta(days=30),
        )
    )
    identity.create_user(ALICE_EMAIL, user_attributes(alice, ALICE_EMAIL), "Temp-Old-1!xyzab")
    identity.sign_in_first_time(ALICE_EMAIL, ALICE_PASSWORD, mfa_device="lost phone")
    identity.calls.clear()
    return registered


@pytest.fixture
def outcomes(caplog: pytest.LogCaptureFixture) -> Callable[[], list[tuple[str, str]]]:
    """The (operation, outcome) pairs the services logged so far."""
    caplog.set_level(logging.INFO, logger="provider_accounts.outcomes")

    def logged() -> list[tuple[str, str]]:
        return [
            (str(getattr(record, "operation", "")), str(getattr(record, "outcome", "")))
            for record in caplog.records
            if record.name == "provider_accounts.outcomes"
        ]

    return logged


@pytest.fixture
def background() -> Iterator[BoundedExecutor]:
    """The real bounded executor, small; tests drain it with wait_idle, never with sleeps."""
    executor = BoundedExecutor(workers=2, queue_size=4, name="unit-background")
    yield executor
    assert executor.shutdown(timeout=5), "background work was still running"
