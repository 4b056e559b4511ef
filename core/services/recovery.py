"""Self-serve recovery after a lost MFA device: an emailed one-time link recreates the user."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from core import emails, link_tokens
from core.errors import (
    ConditionFailed,
    InvalidRecoveryLink,
    Overloaded,
    RateLimited,
    RecaptchaFailed,
    UpstreamFailed,
)
from core.models import LicenseFacts, PendingRecovery, Provider
from core.outcomes import record_outcome
from core.ports import (
    AttemptCounter,
    Clock,
    Executor,
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
    verify_failure_limit: int = 20
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


def accept_initiate(request: InitiateRequest, deps: RecoveryDeps, background: Executor) -> None:
    """Check what no account state affects, and hand the rest of the work off.

    The caller answers identically whatever the work finds, so the answer does not wait for
    it: under load its timing would tell what it found. Raises Overloaded when the queue of
    work is full (for every caller alike); a failed reCAPTCHA is answered like the rest.
    """
    if not deps.recaptcha.verify(request.recaptcha_token, request.remote_ip):
        record_outcome(INITIATE, "recaptcha_failed", request.facts.compact)
        return
    if not background.submit(INITIATE, lambda: initiate_recovery(request, deps)):
        record_outcome(INITIATE, "overloaded", request.facts.compact, level=logging.WARNING)
        raise Overloaded()


def initiate_recovery(request: InitiateRequest, deps: RecoveryDeps) -> None:
    """Email a one-time recovery link if every proof holds; otherwise do nothing, silently.

    Failures of AWS calls are logged and counted, never raised: the caller was answered
    already, identically whatever happens here, so that neither an account, a license, nor
    the correctness of a password can be probed.
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
    token, pending = link_tokens.issue(deps.hasher, now + deps.policy.token_ttl)
    try:
        deps.providers.store_recovery_token(provider, pending, now)
    except ConditionFailed:
        return "in_progress", provider  # a registration or a verify holds the record
    link = deps.policy.links.verify_recovery(provider.compact, provider.provider_id, str(token))
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
    presented = link_tokens.parse(request.recovery_token)
    if presented is None:  # malformed or of the old format: nothing to look up
        record_outcome(VERIFY, "invalid_token", compact, provider_id)
        raise InvalidRecoveryLink()
    provider = deps.providers.get(compact, provider_id)
    pending = provider.pending_recovery if provider and provider.is_registered else None
    if provider is None or pending is None or not pending.has_id(presented):
        _count_failure(compact, provider_id, deps)
        registered = provider is not None and provider.is_registered
        outcome = "no_pending_token" if registered and pending is None else "invalid_token"
        record_outcome(VERIFY, outcome, compact, provider_id)
        raise InvalidRecoveryLink()
    _count_link_attempt(provider, pending, deps)
    outcome = _check_secret(provider, pending, presented, deps)
    if outcome != "valid":
        record_outcome(VERIFY, outcome, compact, provider_id)
        raise InvalidRecoveryLink()
    _recreate_account(provider, deps)
    record_outcome(VERIFY, "completed", compact, provider_id)


def _count_failure(compact: str, provider_id: str, deps: RecoveryDeps) -> None:
    """Count a token that names no pending link of this provider; 429 past the bound.

    Only such failures count here, and the link's holder never consults this count: however
    many bogus calls others make, the genuine link is never refused because of them.
    """
    window = int(deps.policy.verify_window.total_seconds())
    key = f"verify-failed#{compact}#{provider_id}"
    if deps.attempts.record_and_count(key, deps.clock(), window) > deps.policy.verify_failure_limit:
        record_outcome(VERIFY, "rate_limited", compact, provider_id)
        raise RateLimited(retry_after=window)


def _count_link_attempt(provider: Provider, pending: PendingRecovery, deps: RecoveryDeps) -> None:
    """Count an attempt with this link's id: only those who hold the link can spend these."""
    window = int(deps.policy.verify_window.total_seconds())
    key = f"verify#{provider.compact}#{provider.provider_id}#{pending.token_id}"
    if deps.attempts.record_and_count(key, deps.clock(), window) > deps.policy.verify_limit:
        record_outcome(VERIFY, "rate_limited", provider.compact, provider.provider_id)
        raise RateLimited(retry_after=window)


def _check_secret(
    provider: Provider,
    pending: PendingRecovery,
    presented: link_tokens.LinkToken,
    deps: RecoveryDeps,
) -> str:
    if pending.expires_at <= deps.clock():
        deps.providers.clear_recovery_token(provider, pending.token_hash)
        return "expired"
    if not pending.secret_matches(presented, deps.hasher):
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
