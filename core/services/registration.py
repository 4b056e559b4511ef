"""Provider registration: CompactConnect's rules, with no half-registered accounts."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from core import emails
from core.errors import ConditionFailed, RecaptchaFailed, ServiceError
from core.models import License, LicenseFacts, Provider
from core.outcomes import record_outcome
from core.passwords import generate_temporary_password
from core.ports import Clock, Identity, LicenseStore, Mailer, ProviderStore, Recaptcha
from core.services.accounts import (
    belongs_to,
    find_licensee,
    release_quietly,
    send_invitation,
    user_attributes,
)

log = logging.getLogger(__name__)
OPERATION = "registration"


@dataclass(frozen=True)
class RegistrationRequest:
    """A registration as received: license facts, the email to register and reCAPTCHA."""

    facts: LicenseFacts
    email: str
    recaptcha_token: str
    remote_ip: str | None = None


@dataclass(frozen=True)
class RegistrationPolicy:
    """Timings and links of registration."""

    links: emails.Links
    claim_lease: timedelta = timedelta(seconds=60)
    reregister_after: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class RegistrationDeps:
    """What registration talks to."""

    licenses: LicenseStore
    providers: ProviderStore
    identity: Identity
    mailer: Mailer
    recaptcha: Recaptcha
    clock: Clock
    policy: RegistrationPolicy


def register_provider(request: RegistrationRequest, deps: RegistrationDeps) -> None:
    """Register the provider whose license matches; returns normally whatever it found.

    Callers answer the same for every outcome but a failed reCAPTCHA, so that nobody can learn
    from this endpoint whether a license or an account exists.
    """
    if not deps.recaptcha.verify(request.recaptcha_token, request.remote_ip):
        record_outcome(OPERATION, "recaptcha_failed")
        raise RecaptchaFailed()
    found = find_licensee(deps.licenses, deps.providers, request.facts)
    if found is None:
        record_outcome(OPERATION, "no_match", request.facts.compact)
        return
    license_, provider = found
    email = request.email.strip().lower()
    outcome = _register(provider, license_, email, deps)
    record_outcome(OPERATION, outcome, provider.compact, provider.provider_id)


def _register(provider: Provider, license_: License, email: str, deps: RegistrationDeps) -> str:
    owner = deps.providers.email_owner(email)
    if owner is not None and owner != (provider.compact, provider.provider_id):
        deps.mailer.send(emails.registration_attempt_notice(email, deps.policy.links))
        return "email_in_use"
    if provider.registered_email is not None and not _may_register_again(provider, email, deps):
        notice = emails.registration_attempt_notice(provider.registered_email, deps.policy.links)
        deps.mailer.send(notice)
        return "already_registered"
    claim_id = uuid.uuid4().hex
    now = deps.clock()
    try:
        deps.providers.claim(provider, claim_id, now, now + deps.policy.claim_lease)
    except ConditionFailed:
        return "in_progress"
    try:
        return _create_account(provider, license_, email, claim_id, deps)
    except BaseException:
        release_quietly(deps.providers, provider, claim_id)
        raise


def _may_register_again(provider: Provider, email: str, deps: RegistrationDeps) -> bool:
    """Re-registration is allowed only while the invitation was never used for a long time.

    A registered provider without a Cognito user (an interrupted recovery whose link lapsed)
    may register again, but only with the email on record, so no one else can take it over.
    """
    if provider.registered_email is None:
        return True
    user = deps.identity.get_user(provider.registered_email)
    if user is None:
        return email == provider.registered_email
    stale = deps.clock() - user.last_modified > deps.policy.reregister_after
    return user.awaits_first_sign_in and stale


def _create_account(
    provider: Provider, license_: License, email: str, claim_id: str, deps: RegistrationDeps
) -> str:
    temporary_password = generate_temporary_password()
    created = False
    try:
        deps.identity.create_user(email, user_attributes(provider, email), temporary_password)
        created = True
    except ConditionFailed:
        existing = deps.identity.get_user(email)
        if existing is None or not belongs_to(existing.attributes, provider):
            deps.mailer.send(emails.registration_attempt_notice(email, deps.policy.links))
            deps.providers.release_claim(provider, claim_id)
            return "email_in_use"
        # This provider's own user: an earlier invitation, or a leftover of an interrupted try.
        deps.identity.set_temporary_password(email, temporary_password)
    try:
        send_invitation(deps.mailer, provider, email, temporary_password, deps.policy.links)
        deps.providers.record_registration(
            provider, email, license_.jurisdiction, claim_id, deps.clock()
        )
    except ConditionFailed:
        # Lost a race: the claim lapsed and another attempt took over, or the email was
        # registered for someone else meanwhile. Undo ours; the winner's state stands.
        _undo_user(deps.identity, email, created)
        deps.providers.release_claim(provider, claim_id)
        return "in_progress"
    except ServiceError:
        _undo_user(deps.identity, email, created)
        raise
    _drop_replaced_user(provider, email, deps.identity)
    return "registered"


def _undo_user(identity: Identity, email: str, created: bool) -> None:
    """Delete the user this attempt created, so a failed attempt leaves nothing behind."""
    if not created:
        return
    try:
        identity.delete_user(email)
    except ServiceError:
        # The leftover user belongs to this provider; the next attempt reuses it.
        log.error("could not delete the user of a failed registration")


def _drop_replaced_user(provider: Provider, email: str, identity: Identity) -> None:
    """After an email change, delete the never-used user of the old email."""
    old = provider.registered_email
    if old is None or old == email:
        return
    try:
        identity.delete_user(old)
    except ServiceError:
        # Harmless: nothing accepts a user whose email is not the one on record.
        log.error("could not delete the replaced user of a re-registration")
