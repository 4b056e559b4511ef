"""Self-serve recovery after a lost MFA device: an emailed one-time link recreates the user."""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core import emails, link_tokens, time_zones, user_agents
from core.errors import (
    ConditionFailed,
    InvalidRecoveryLink,
    Overloaded,
    RateLimited,
    RecaptchaFailed,
    RecoveryNotYetUsable,
    UpstreamFailed,
)
from core.models import (
    LicenseFacts,
    NotMeLink,
    PendingRecovery,
    Provider,
    RequestOrigin,
    RiskContext,
)
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
    browser: str | None = None
    user_agent: str | None = None
    user_context_data: str | None = None

    def __repr__(self) -> str:  # the password must never reach a log through a repr
        return f"InitiateRequest(compact={self.facts.compact!r})"

    @property
    def origin(self) -> RequestOrigin:
        """Where the request came from, for the account history."""
        return RequestOrigin(self.remote_ip, self.browser)

    @property
    def risk(self) -> RiskContext | None:
        """What Cognito threat protection judges the password check by."""
        if self.remote_ip is None:
            return None
        return RiskContext(self.remote_ip, self.user_agent, self.user_context_data)


@dataclass(frozen=True)
class VerifyRequest:
    """The recovery link's contents."""

    compact: str
    provider_id: str
    recovery_token: str
    recaptcha_token: str
    remote_ip: str | None = None
    browser: str | None = None

    def __repr__(self) -> str:  # the token must never reach a log through a repr
        return f"VerifyRequest(compact={self.compact!r}, provider_id={self.provider_id!r})"

    @property
    def origin(self) -> RequestOrigin:
        """Where the request came from, for the history and the completion notice."""
        return RequestOrigin(self.remote_ip, self.browser)


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
    # A "Not me" link outlives the recovery it is about: whoever reads the notice days later
    # can still undo what someone else did.
    not_me_ttl: timedelta = timedelta(days=7)
    # A wait before a link works (RECOVERY_COOLDOWN_SECONDS): time for the owner to see the
    # email, or the pending recovery in /me, and say "Not me" before anything changes.
    cooldown: timedelta = timedelta(0)


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
    if provider.locked_at is not None:
        # A "Not me" after a recovery locked it: nothing recovers it until an operator unlocks.
        return "locked", provider
    email = provider.registered_email
    if email is None:
        return "not_registered", provider
    if request.username.strip().lower() != email:
        # Before the limit: a stranger with the license facts alone cannot spend it. Nothing
        # is learnt from a wrong email either way: the answer is the same, the mail goes to
        # the registered address.
        return "email_mismatch", provider
    # The limit guards the password, so it is counted before the password check; attempts it
    # refuses are not counted, so retrying while refused does not lengthen the wait.
    now = deps.clock()
    key = f"initiate#{provider.compact}#{provider.provider_id}"
    window = int(deps.policy.initiate_window.total_seconds())
    if not deps.attempts.record_within(key, now, window, deps.policy.initiate_limit):
        return "rate_limited", provider
    if not deps.identity.password_is_valid(email, request.password, request.risk):
        return "bad_password", provider
    usable_from = now + deps.policy.cooldown
    token, stored = link_tokens.issue(deps.hasher, usable_from + deps.policy.token_ttl)
    pending = PendingRecovery(
        stored.token_hash, stored.expires_at, stored.token_id, now, usable_from=usable_from
    )
    not_me_token, not_me = issue_not_me(deps, now)
    try:
        deps.providers.store_recovery_token(provider, pending, now, not_me, request.origin)
    except ConditionFailed:
        # A registration or a verify holds the record, or a "Not me" locked it meanwhile.
        return "in_progress", provider
    links = deps.policy.links
    link = links.verify_recovery(provider.compact, provider.provider_id, str(token))
    not_me_link = links.not_me(provider.compact, provider.provider_id, str(not_me_token))
    minutes = int(deps.policy.token_ttl.total_seconds() // 60)
    deps.mailer.send(
        emails.recovery_confirmation(
            email,
            provider.given_name,
            link,
            minutes,
            links,
            not_me=not_me_link,
            usable_from=exact_time(usable_from) if usable_from > now else None,
        )
    )
    return "sent", provider


def exact_time(moment: datetime) -> str:
    """A moment to the second, in UTC, for an email or a problem's detail."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def issue_not_me(deps: RecoveryDeps, now: datetime) -> tuple[link_tokens.LinkToken, NotMeLink]:
    """A fresh "Not me" token, and what to store of it."""
    token, stored = link_tokens.issue(deps.hasher, now + deps.policy.not_me_ttl)
    return token, NotMeLink(token=stored, issued_at=now)


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
    _refuse_a_link_guessed_too_often(provider, pending, deps)
    outcome = _check_secret(provider, pending, presented, deps)
    if outcome == "invalid_token":
        _count_link_failure(provider, pending, deps)
    if outcome != "valid":
        record_outcome(VERIFY, outcome, compact, provider_id)
        raise InvalidRecoveryLink()
    now = deps.clock()
    if pending.usable_from is not None and now < pending.usable_from:
        # Only the link's holder gets here, and the email told them the same time already.
        record_outcome(VERIFY, "cooling_down", compact, provider_id)
        wait = math.ceil((pending.usable_from - now).total_seconds())
        raise RecoveryNotYetUsable(exact_time(pending.usable_from), retry_after=max(1, wait))
    _recreate_account(provider, deps, request.origin)
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


def _link_failures_key(provider: Provider, pending: PendingRecovery) -> str:
    return f"verify#{provider.compact}#{provider.provider_id}#{pending.token_id}"


def _refuse_a_link_guessed_too_often(
    provider: Provider, pending: PendingRecovery, deps: RecoveryDeps
) -> None:
    """429 once this link's id came with a wrong secret too often, before any argon2 is spent.

    Only wrong secrets count: the holder's own retries after an AWS fault, or presses during a
    cool-down, never use up the link. Retry-After never points past the link's expiry.
    """
    now = deps.clock()
    window = int(deps.policy.verify_window.total_seconds())
    failures = deps.attempts.count(_link_failures_key(provider, pending), now, window)
    if failures >= deps.policy.verify_limit:
        record_outcome(VERIFY, "rate_limited", provider.compact, provider.provider_id)
        left = int((pending.expires_at - now).total_seconds())
        raise RateLimited(retry_after=max(1, min(window, left)))


def _count_link_failure(provider: Provider, pending: PendingRecovery, deps: RecoveryDeps) -> None:
    """Count a wrong secret presented with this link's id."""
    window = int(deps.policy.verify_window.total_seconds())
    deps.attempts.record(_link_failures_key(provider, pending), deps.clock(), window)


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


def _recreate_account(provider: Provider, deps: RecoveryDeps, origin: RequestOrigin) -> None:
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
        not_me_token, not_me = issue_not_me(deps, now)
        # recoveredAt is the claim time, before the old user is deleted: every session of the
        # old user began before it, every session of the new one after it.
        deps.providers.complete_recovery(provider, claim_id, now, not_me, origin)
    except BaseException as error:
        release_quietly(deps.providers, provider, claim_id)
        if isinstance(error, ConditionFailed) and _locked_meanwhile(provider, email, deps):
            raise InvalidRecoveryLink() from None
        record_outcome(
            VERIFY, "upstream_error", provider.compact, provider.provider_id, level=logging.ERROR
        )
        if isinstance(error, ConditionFailed):
            # The username was taken again, or the claim lapsed before completion: either way
            # the same link finishes the job on retry, so this is a retryable failure.
            raise UpstreamFailed() from error
        raise
    _notify_completion(provider, deps, now, origin, not_me_token)


def _locked_meanwhile(provider: Provider, email: str, deps: RecoveryDeps) -> bool:
    """After a refused completion: if a "Not me" locked the account, disable the new user.

    The "Not me" may have disabled the user before this request recreated it: whichever of the
    two runs last disables the user that exists, so the account never ends recovered and open.
    """
    current = deps.providers.get(provider.compact, provider.provider_id)
    if current is None or current.locked_at is None:
        return False
    deps.identity.disable_user(email)
    record_outcome(VERIFY, "locked", provider.compact, provider.provider_id)
    return True


def _notify_completion(
    provider: Provider,
    deps: RecoveryDeps,
    now: datetime,
    origin: RequestOrigin,
    not_me_token: link_tokens.LinkToken,
) -> None:
    """Tell every address of record, with the "Not me" link; the recovery stands if this fails."""
    links = deps.policy.links
    not_me = links.not_me(provider.compact, provider.provider_id, str(not_me_token))
    when = time_zones.describe_moment(now, provider.home_jurisdiction)
    for address in provider.verified_emails:
        try:
            deps.mailer.send(
                emails.recovery_completed_notice(
                    address,
                    provider.given_name,
                    when,
                    origin.ip,
                    origin.browser or user_agents.UNKNOWN,
                    not_me,
                )
            )
        except Exception as error:  # noqa: BLE001 - the recovery is done; it must not be undone
            log.error("recovery notice not sent: %s", type(error).__name__)  # noqa: TRY400
