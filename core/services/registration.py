"""Provider registration: CompactConnect's rules, with no half-registered accounts."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from core import emails
from core.errors import ConditionFailed, Overloaded, RecaptchaFailed, ServiceError
from core.mail_caps import MailCaps
from core.models import IdentityUser, License, LicenseFacts, Provider, RequestOrigin
from core.outcomes import record_outcome
from core.passwords import generate_temporary_password
from core.ports import Clock, Executor, Identity, LicenseStore, Mailer, ProviderStore, Recaptcha
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
    origin: RequestOrigin = RequestOrigin()

    def __repr__(self) -> str:  # personal data must never reach a log through a repr
        return f"RegistrationRequest(facts={self.facts!r})"


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
    caps: MailCaps


def accept_registration(
    request: RegistrationRequest, deps: RegistrationDeps, background: Executor
) -> None:
    """Decide the answer from what no account state affects, and hand the work off.

    Callers answer the same for every outcome but a failed reCAPTCHA, so that nobody can learn
    from this endpoint whether a license or an account exists; and the answer does not wait
    for the work, so that its timing cannot tell either, even under load.
    Raises RecaptchaFailed, or Overloaded when the queue of work is full.
    """
    if not deps.recaptcha.verify(request.recaptcha_token, request.origin.ip):
        record_outcome(OPERATION, "recaptcha_failed")
        raise RecaptchaFailed()
    if not background.submit(OPERATION, lambda: _register_in_background(request, deps)):
        record_outcome(OPERATION, "overloaded", request.facts.compact, level=logging.WARNING)
        raise Overloaded()


def _register_in_background(request: RegistrationRequest, deps: RegistrationDeps) -> None:
    try:
        register_provider(request, deps)
    except Exception:
        # The caller was answered long ago: the outcome is logged and counted instead.
        record_outcome(OPERATION, "upstream_error", request.facts.compact, level=logging.ERROR)
        raise


def register_provider(request: RegistrationRequest, deps: RegistrationDeps) -> None:
    """Register the provider whose license matches; returns normally whatever it found.

    Raises only when a dependency fails, after undoing what this attempt did, so that the
    provider can simply try again.
    """
    email = request.email.strip().lower()
    owner = deps.providers.email_owner(email)
    found = find_licensee(deps.licenses, deps.providers, request.facts)
    licensee = (found[1].compact, found[1].provider_id) if found else None
    email_taken = owner is not None and owner != licensee
    # The owner of a taken email is told whether or not the facts matched a license: a notice
    # that depended on the match would turn the inbox of any registered address into an
    # oracle for guessing someone's date of birth and SSN digits.
    if email_taken:
        deps.caps.send_notice(
            deps.mailer, emails.registration_attempt_notice(email, deps.policy.links)
        )
    if found is None:
        record_outcome(OPERATION, "no_match", request.facts.compact)
        return
    license_, provider = found
    outcome = _register(provider, license_, email, email_taken, request.origin, deps)
    record_outcome(OPERATION, outcome, provider.compact, provider.provider_id)


def _register(
    provider: Provider,
    license_: License,
    email: str,
    email_taken: bool,
    origin: RequestOrigin,
    deps: RegistrationDeps,
) -> str:
    # The registered address hears of every attempt on its license, whichever email was
    # given, so its inbox cannot tell whether that email belongs to someone else.
    # A "Not me" lock holds against registration as against recovery: no new user, no
    # invitation, until an operator unlocks the account (the claim refuses it too).
    locked = provider.locked_at is not None
    if provider.registered_email is not None and (
        locked or not _may_register_again(provider, email, deps)
    ):
        to = provider.registered_email
        notice = (  # sign-in and recovery do nothing for a locked account: support does
            emails.registration_attempt_on_locked_notice(to)
            if locked
            else emails.registration_attempt_notice(to, deps.policy.links)
        )
        deps.caps.send_notice(deps.mailer, notice)
        return "locked" if locked else "already_registered"
    if email_taken:
        return "email_in_use"
    reservation = deps.caps.reserve_invitation(provider, email)
    if reservation is None:
        return "invitation_capped"
    try:
        outcome = _claim_and_create(provider, license_, email, origin, deps)
    except BaseException:
        deps.caps.release(reservation)
        raise
    # Only a committed registration spends the invitation's slot: failed tries spend nothing.
    if outcome == "registered":
        deps.caps.confirm(reservation)
    else:
        deps.caps.release(reservation)
    return outcome


def _claim_and_create(
    provider: Provider, license_: License, email: str, origin: RequestOrigin, deps: RegistrationDeps
) -> str:
    claim_id = uuid.uuid4().hex
    now = deps.clock()
    try:
        deps.providers.claim(provider, claim_id, now, now + deps.policy.claim_lease)
    except ConditionFailed:
        return "in_progress"
    try:
        return _create_account(provider, license_, email, claim_id, origin, deps)
    except BaseException:
        release_quietly(deps.providers, provider, claim_id)
        raise


def _may_register_again(provider: Provider, email: str, deps: RegistrationDeps) -> bool:
    """Whether a registered provider may register again, and so get a new invitation.

    With the email on record: whenever the invitation was never used, or the Cognito user is
    gone (an interrupted recovery whose link lapsed), so nobody stays locked out; the new
    temporary password goes to that same address. With another email: only once the
    invitation has gone unused for REREGISTRATION_AFTER_HOURS, and never once a recovery of
    the account began (even one that did not finish): its owner proved password and mailbox
    then, and a recovery's invitation left unused a day must not hand the account to whoever
    knows the license facts.
    """
    if provider.registered_email is None:
        return True
    user = deps.identity.get_user(provider.registered_email)
    if email == provider.registered_email:
        return user is None or user.awaits_first_sign_in
    if provider.recovery_began or user is None or not user.awaits_first_sign_in:
        return False
    return deps.clock() - user.last_modified > deps.policy.reregister_after


def _create_account(
    provider: Provider,
    license_: License,
    email: str,
    claim_id: str,
    origin: RequestOrigin,
    deps: RegistrationDeps,
) -> str:
    temporary_password = generate_temporary_password()
    created = _put_user(provider, email, temporary_password, deps)
    if created is None:
        deps.caps.send_notice(
            deps.mailer, emails.registration_attempt_notice(email, deps.policy.links)
        )
        deps.providers.release_claim(provider, claim_id)
        return "email_in_use"
    try:
        send_invitation(deps.mailer, provider, email, temporary_password, deps.policy.links)
        deps.providers.record_registration(
            provider, email, license_.jurisdiction, claim_id, deps.clock(), origin
        )
    except ConditionFailed:
        # Lost a race: the claim lapsed and another attempt took over, the email was
        # registered for someone else, or a "Not me" locked the account meanwhile. Undo ours;
        # the winner's state stands.
        locked = _locked_meanwhile(provider, deps)
        _undo_user(deps.identity, email, created, disable_first=locked is not False)
        deps.providers.release_claim(provider, claim_id)
        return "locked" if locked else "in_progress"
    except Exception:
        # Any failure, not only a dependency's: a user left behind would hold the email.
        _undo_user(deps.identity, email, created)
        raise
    _drop_replaced_user(provider, email, deps.identity)
    return "registered"


def _put_user(
    provider: Provider, email: str, temporary_password: str, deps: RegistrationDeps
) -> bool | None:
    """Give `email` a user of this provider with this temporary password.

    True if a user was created, False if this provider's own user was reused, None if the
    username belongs to someone else.
    """
    attributes = user_attributes(provider, email)
    try:
        deps.identity.create_user(email, attributes, temporary_password)
        return True
    except ConditionFailed:
        existing = deps.identity.get_user(email)
    if existing is None:
        return None
    if belongs_to(existing.attributes, provider):
        # An earlier invitation, or a leftover of an interrupted try: reuse it.
        deps.identity.set_temporary_password(email, temporary_password)
        return False
    if not _abandoned(existing, provider, deps):
        return None
    # Left behind by an email change whose clean-up failed: nobody can ever use it.
    deps.identity.delete_user(email)
    deps.identity.create_user(email, attributes, temporary_password)
    return True


def _abandoned(user: IdentityUser, provider: Provider, deps: RegistrationDeps) -> bool:
    """Another provider's never-used user, older than any registration still in flight.

    Only called for an email no other account holds (register_provider checked the
    reservation), so such a user can never be signed in to any account.
    """
    return (
        not belongs_to(user.attributes, provider)
        and user.awaits_first_sign_in
        and deps.clock() - user.last_modified > deps.policy.claim_lease
    )


def _locked_meanwhile(provider: Provider, deps: RegistrationDeps) -> bool | None:
    """Whether a "Not me" locked the account; None if the record could not be read."""
    try:
        current = deps.providers.get(provider.compact, provider.provider_id)
    except ServiceError:
        return None
    return current is not None and current.locked_at is not None


def _undo_user(identity: Identity, email: str, created: bool, disable_first: bool = False) -> None:
    """Delete the user this attempt created, so a failed attempt leaves nothing behind.

    Disabled first when the account is (or may be) locked: if the delete fails, the user its
    invitation announced still cannot sign in.
    """
    if not created:
        return
    if disable_first:
        try:
            identity.disable_user(email)
        except ServiceError:
            log.error("could not disable the user of a registration a lock refused")
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
