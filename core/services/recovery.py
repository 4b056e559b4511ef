"""Self-serve recovery after a lost MFA device: an emailed one-time link recreates the user."""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from core import emails
from core.errors import (
    ConditionFailed,
    InvalidRecoveryLink,
    RateLimited,
    RecaptchaFailed,
    UpstreamFailed,
)
from core.models import LicenseFacts, Provider
from core.outcomes import record_outcome
from core.ports import (
    AttemptCounter,
    Clock,
    Identity,
    LicenseStore,
    Mailer,
    ProviderStore,
    Recaptcha,
    TokenHasher,
)
from core.services.accounts import find_licensee, recreate_user, release_quietly, send_invitation

log = logging.getLogger(__name__)
INITIATE = "initiate_recovery"
VERIFY = "verify_recovery"
TOKEN_BYTES = 32


@dataclass(frozen=True)
class InitiateRequest:
    """Proof of identity: license facts, the account's email and current password."""

    facts: LicenseFacts
    username: str
    password: str
    recaptcha_token: str
    remote_ip: str | None = None

    def __repr__(self) -> str:  # the password must never reach a log through a repr
        return f"InitiateRequest(compact={self.facts.compact!r})"


@dataclass(frozen=True)
class VerifyRequest:
    """The recovery link's contents."""

    compact: str
    provider_id: str
    recovery_token: str
    recaptcha_token: str
    remote_ip: str | None = None

    def __repr__(self) -> str:  # the token must never reach a log through a repr
        return f"VerifyRequest(compact={self.compact!r}, provider_id={self.provider_id!r})"


@dataclass(frozen=True)
class RecoveryPolicy:
    """Expiry, per-provider limits and links of recovery."""

    links: emails.Links
    token_ttl: timedelta = timedelta(minutes=15)
    initiate_limit: int = 3
    initiate_window: timedelta = timedelta(hours=1)
    verify_limit: int = 2
    verify_window: timedelta = timedelta(minutes=15)
    claim_lease: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class RecoveryDeps:
    """What recovery talks to."""

    licenses: LicenseStore
    providers: ProviderStore
    attempts: AttemptCounter
    identity: Identity
    hasher: TokenHasher
    mailer: Mailer
    recaptcha: Recaptcha
    clock: Clock
    policy: RecoveryPolicy


def initiate_recovery(request: InitiateRequest, deps: RecoveryDeps) -> None:
    """Email a one-time recovery link if every proof holds; otherwise do nothing, silently.

    The caller answers identically whatever happens here, including failures of AWS calls,
    so that neither an account, a license, nor the correctness of a password can be probed.
    """
    try:
        outcome, provider = _initiate(request, deps)
    except Exception as error:  # noqa: BLE001 - the contract answers 200 whatever happened
        # The type only: an AWS error's text can quote the email address it was about.
        log.error("initiate recovery failed: %s", type(error).__name__)  # noqa: TRY400
        outcome, provider = "upstream_error", None
    record_outcome(
        INITIATE,
        outcome,
        provider.compact if provider else request.facts.compact,
        provider.provider_id if provider else None,
        level=logging.ERROR if outcome == "upstream_error" else logging.INFO,
    )


def _initiate(request: InitiateRequest, deps: RecoveryDeps) -> tuple[str, Provider | None]:
    if not deps.recaptcha.verify(request.recaptcha_token, request.remote_ip):
        return "recaptcha_failed", None
    found = find_licensee(deps.licenses, deps.providers, request.facts)
    if found is None:
        return "no_match", None
    provider = found[1]
    now = deps.clock()
    key = f"initiate#{provider.compact}#{provider.provider_id}"
    window = int(deps.policy.initiate_window.total_seconds())
    if deps.attempts.record_and_count(key, now, window) > deps.policy.initiate_limit:
        return "rate_limited", provider
    email = provider.registered_email
    if email is None:
        return "not_registered", provider
    if request.username.strip().lower() != email:
        return "email_mismatch", provider
    if not deps.identity.password_is_valid(email, request.password):
        return "bad_password", provider
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        deps.providers.store_recovery_token(
            provider, deps.hasher.hash(token), now + deps.policy.token_ttl, now
        )
    except ConditionFailed:
        return "in_progress", provider  # a registration or a verify holds the record
    link = deps.policy.links.verify_recovery(provider.compact, provider.provider_id, token)
    minutes = int(deps.policy.token_ttl.total_seconds() // 60)
    deps.mailer.send(
        emails.recovery_confirmation(email, provider.given_name, link, minutes, deps.policy.links)
    )
    return "sent", provider


def verify_recovery(request: VerifyRequest, deps: RecoveryDeps) -> None:
    """Use a recovery link once: recreate the provider's user and send a new invitation.

    Raises RecaptchaFailed, RateLimited or InvalidRecoveryLink (one message for every token
    problem); AWS failures after the token is claimed release the claim, so the same link
    works again on retry while it has not expired.
    """
    compact, provider_id = request.compact, request.provider_id
    if not deps.recaptcha.verify(request.recaptcha_token, request.remote_ip):
        record_outcome(VERIFY, "recaptcha_failed", compact, provider_id)
        raise RecaptchaFailed()
    now = deps.clock()
    window = int(deps.policy.verify_window.total_seconds())
    key = f"verify#{compact}#{provider_id}"
    if deps.attempts.record_and_count(key, now, window) > deps.policy.verify_limit:
        record_outcome(VERIFY, "rate_limited", compact, provider_id)
        raise RateLimited(retry_after=window)
    provider = deps.providers.get(compact, provider_id)
    outcome = _check_token(provider, request.recovery_token, deps)
    if outcome != "valid" or provider is None:
        record_outcome(VERIFY, outcome, compact, provider_id)
        raise InvalidRecoveryLink()
    _recreate_account(provider, deps)
    record_outcome(VERIFY, "completed", compact, provider_id)


def _check_token(provider: Provider | None, token: str, deps: RecoveryDeps) -> str:
    if provider is None or provider.registered_email is None:
        return "invalid_token"
    pending = provider.pending_recovery
    if pending is None:
        return "no_pending_token"
    if pending.expires_at <= deps.clock():
        deps.providers.clear_recovery_token(provider, pending.token_hash)
        return "expired"
    if not deps.hasher.verify(pending.token_hash, token):
        return "invalid_token"
    return "valid"


def _recreate_account(provider: Provider, deps: RecoveryDeps) -> None:
    """Claim the token, then delete, recreate, invite and complete; release the claim on failure."""
    if provider.pending_recovery is None or provider.registered_email is None:
        raise InvalidRecoveryLink()
    email = provider.registered_email
    claim_id = uuid.uuid4().hex
    now = deps.clock()
    try:
        # Single use under concurrency: only one request wins this conditional write.
        deps.providers.claim(
            provider,
            claim_id,
            now,
            now + deps.policy.claim_lease,
            token_hash=provider.pending_recovery.token_hash,
        )
    except ConditionFailed:
        record_outcome(VERIFY, "already_claimed", provider.compact, provider.provider_id)
        raise InvalidRecoveryLink() from None
    try:
        temporary_password = recreate_user(deps.identity, provider, email)
        send_invitation(
            deps.mailer,
            provider,
            email,
            temporary_password,
            deps.policy.links,
            after_recovery=True,
        )
        # recoveredAt is the claim time, before the old user is deleted: every session of the
        # old user began before it, every session of the new one after it.
        deps.providers.complete_recovery(provider, claim_id, now)
    except BaseException as error:
        release_quietly(deps.providers, provider, claim_id)
        record_outcome(
            VERIFY, "upstream_error", provider.compact, provider.provider_id, level=logging.ERROR
        )
        if isinstance(error, ConditionFailed):
            # The username was taken again, or the claim lapsed before completion: either way
            # the same link finishes the job on retry, so this is a retryable failure.
            raise UpstreamFailed() from error
        raise
