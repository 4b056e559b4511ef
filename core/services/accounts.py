"""Steps shared by registration and recovery: the Cognito user and its invitation."""

from __future__ import annotations

import logging

from core import emails
from core.errors import ServiceError
from core.models import License, LicenseFacts, Provider
from core.passwords import generate_temporary_password
from core.ports import Identity, LicenseStore, Mailer, ProviderStore

log = logging.getLogger(__name__)


def find_licensee(
    licenses: LicenseStore, providers: ProviderStore, facts: LicenseFacts
) -> tuple[License, Provider] | None:
    """The license matching every stated fact and its provider record, if both exist."""
    license_ = licenses.find_match(facts)
    if license_ is None:
        return None
    provider = providers.get(license_.compact, license_.provider_id)
    return (license_, provider) if provider is not None else None


def user_attributes(provider: Provider, email: str) -> dict[str, str]:
    """The Cognito attributes that tie a user to its provider record."""
    return {
        "email": email,
        "email_verified": "true",
        "custom:compact": provider.compact,
        "custom:providerId": provider.provider_id,
    }


def belongs_to(attributes: dict[str, str], provider: Provider) -> bool:
    """Whether a Cognito user's attributes name this provider."""
    return (
        attributes.get("custom:compact") == provider.compact
        and attributes.get("custom:providerId") == provider.provider_id
    )


def send_invitation(
    mailer: Mailer,
    provider: Provider,
    email: str,
    temporary_password: str,
    links: emails.Links,
    after_recovery: bool = False,
) -> None:
    """Email the username and temporary password."""
    mailer.send(
        emails.invitation(
            email,
            provider.given_name,
            provider.family_name,
            temporary_password,
            links,
            after_recovery=after_recovery,
        )
    )


def recreate_user(identity: Identity, provider: Provider, email: str) -> str:
    """Delete the user (gone already is fine) and create it anew; returns its temporary password.

    A new user has no MFA device and no sessions: this is how recovery resets MFA.
    """
    identity.delete_user(email)
    temporary_password = generate_temporary_password()
    identity.create_user(email, user_attributes(provider, email), temporary_password)
    return temporary_password


def release_quietly(providers: ProviderStore, provider: Provider, claim_id: str) -> None:
    """Release a claim after a failure; if that fails too, the claim lapses by itself."""
    try:
        providers.release_claim(provider, claim_id)
    except ServiceError:
        log.warning("could not release a claim; it lapses at the end of its lease")
