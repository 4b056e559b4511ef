"""The profile service: who may see it, and which sessions a recovery ended."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import NotFound, Unauthenticated
from core.id_tokens import IdentityClaims
from core.models import Provider
from core.services.profile import ProfileDeps, get_profile
from tests.support.fakes import FakeLicenseStore, FakeProfileReader, FakeProviderStore
from tests.unit.conftest import ALICE_EMAIL

RECOVERY = datetime(2026, 11, 24, 21, 0, 0, 700_000, tzinfo=UTC)


def claims(provider: Provider, auth_time: datetime, username: str = ALICE_EMAIL) -> IdentityClaims:
    return IdentityClaims(
        username=username,
        email=username,
        compact=provider.compact,
        provider_id=provider.provider_id,
        auth_time=auth_time,
    )


@pytest.fixture
def deps(providers: FakeProviderStore, licenses: FakeLicenseStore) -> ProfileDeps:
    return ProfileDeps(reader=FakeProfileReader(providers, licenses))


@pytest.fixture
def registered(providers: FakeProviderStore, alice: Provider) -> Provider:
    return providers.add(replace(alice, registered_email=ALICE_EMAIL, home_jurisdiction="oh"))


def test_the_registered_user_sees_the_profile(deps: ProfileDeps, registered: Provider) -> None:
    profile = get_profile(claims(registered, RECOVERY), deps)

    assert profile.provider == registered
    assert sorted((lic.jurisdiction, lic.license_type) for lic in profile.licenses) == [
        ("ky", "audiologist"),
        ("oh", "audiologist"),
    ]
    assert profile.events == []


def test_a_provider_record_that_is_gone_is_not_found(deps: ProfileDeps, alice: Provider) -> None:
    with pytest.raises(NotFound):
        get_profile(
            claims(replace(alice, provider_id="00000000-0000-4000-8000-000000000000"), RECOVERY),
            deps,
        )


def test_a_user_of_a_replaced_email_is_refused(deps: ProfileDeps, registered: Provider) -> None:
    with pytest.raises(Unauthenticated):
        get_profile(claims(registered, RECOVERY, username="old@example.test"), deps)


@pytest.mark.parametrize("field", ["recovered_at", "sessions_not_before"])
def test_sessions_from_before_a_recovery_are_refused_and_later_ones_accepted(
    deps: ProfileDeps, providers: FakeProviderStore, registered: Provider, field: str
) -> None:
    # Given a recovery claimed (or completed) Alice's record at RECOVERY
    providers.add(replace(registered, **{field: RECOVERY}))

    # Then a session that began a second earlier is over
    with pytest.raises(Unauthenticated, match="ended when the account was recovered"):
        get_profile(claims(registered, RECOVERY - timedelta(seconds=1)), deps)
    # And so is one from the recovery's own second: auth_time has whole seconds, so a
    # sign-in at 21:00:00.3 (before the claim at 21:00:00.7) reads 21:00:00
    with pytest.raises(Unauthenticated, match="ended when the account was recovered"):
        get_profile(claims(registered, RECOVERY.replace(microsecond=0)), deps)
    # While one from the next whole second on is fine
    get_profile(claims(registered, RECOVERY.replace(microsecond=0) + timedelta(seconds=1)), deps)
    get_profile(claims(registered, RECOVERY + timedelta(minutes=5)), deps)


def test_a_cut_off_on_a_whole_second_accepts_sessions_from_that_second(
    deps: ProfileDeps, providers: FakeProviderStore, registered: Provider
) -> None:
    # Given a cut-off with no fraction of a second
    whole = RECOVERY.replace(microsecond=0)
    providers.add(replace(registered, recovered_at=whole))

    # Then a session from that very second is not earlier than it
    get_profile(claims(registered, whole), deps)
    with pytest.raises(Unauthenticated):
        get_profile(claims(registered, whole - timedelta(seconds=1)), deps)
