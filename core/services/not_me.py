"""The "Not me" link: the owner stops a recovery someone else started, or locks its result."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core import emails, link_tokens
from core.errors import ConditionFailed, NotFound, Overloaded, SessionPredatesRecovery
from core.id_tokens import IdentityClaims
from core.models import MailMessage, NotMeLink, Provider, RequestOrigin
from core.outcomes import record_outcome
from core.ports import Executor
from core.services.profile import signed_in_provider, whole_second_after
from core.services.recovery import RecoveryDeps

log = logging.getLogger(__name__)
CANCEL = "cancel_recovery"


@dataclass(frozen=True)
class CancelRequest:
    """The "Not me" link's contents."""

    compact: str
    provider_id: str
    cancel_token: str
    recaptcha_token: str
    origin: RequestOrigin = RequestOrigin()

    def __repr__(self) -> str:  # the token must never reach a log through a repr
        return f"CancelRequest(compact={self.compact!r}, provider_id={self.provider_id!r})"


def accept_cancel(request: CancelRequest, deps: RecoveryDeps, background: Executor) -> None:
    """Check reCAPTCHA and hand the work off; the answer is the same whatever it finds.

    Like initiate, the answer must not tell whether a link was valid: whoever guesses at links
    learns nothing, and the owner is told by email what happened.
    """
    if not deps.recaptcha.verify(request.recaptcha_token, request.origin.ip):
        record_outcome(CANCEL, "recaptcha_failed", request.compact, request.provider_id)
        return
    if not background.submit(CANCEL, lambda: cancel_recovery(request, deps)):
        record_outcome(CANCEL, "overloaded", request.compact, level=logging.WARNING)
        raise Overloaded()


def cancel_recovery(request: CancelRequest, deps: RecoveryDeps) -> None:
    """Use a "Not me" link: cancel the pending recovery, or lock a completed one."""
    try:
        outcome = _cancel(request, deps)
    except Exception as error:  # noqa: BLE001 - the caller was answered already
        log.error("cancel recovery failed: %s", type(error).__name__)  # noqa: TRY400
        outcome = "upstream_error"
    level = logging.ERROR if outcome == "upstream_error" else logging.INFO
    record_outcome(CANCEL, outcome, request.compact, request.provider_id, level=level)


def _cancel(request: CancelRequest, deps: RecoveryDeps) -> str:
    presented = link_tokens.parse(request.cancel_token)
    if presented is None:
        return "invalid_token"
    provider = deps.providers.get(request.compact, request.provider_id)
    if provider is None or provider.registered_email is None:
        return "invalid_token"
    link = deps.providers.not_me_link(provider.compact, provider.provider_id, presented.token_id)
    if link is None or not link.token.has_id(presented):
        return "invalid_token"
    now = deps.clock()
    if link.token.expires_at <= now:
        return "expired"
    if not link.token.secret_matches(presented, deps.hasher):
        return "invalid_token"
    return _cancel_or_lock(provider, link, now, request.origin, deps)


def cancel_own_recovery(
    identity: IdentityClaims, origin: RequestOrigin, deps: RecoveryDeps
) -> None:
    """The signed-in owner cancels the recovery /me shows them; NotFound if none is pending.

    Same effects as "Not me" before completion (or a lock, if a verify is completing it).
    Only a session that began once the recovery was asked for may: a lost device still signed
    in (its refresh token keeps the first sign-in's auth_time) could otherwise cancel every
    recovery its owner starts. SessionPredatesRecovery for an older one.
    """
    provider = signed_in_provider(identity, deps.providers)
    pending = provider.pending_recovery
    if pending is None or pending.expires_at <= deps.clock():
        raise NotFound("No recovery is pending")
    requested = pending.requested_at or pending.expires_at - deps.policy.token_ttl
    if identity.auth_time < whole_second_after(requested):  # as check_session counts cut-offs
        record_outcome(CANCEL, "session_too_old", provider.compact, provider.provider_id)
        raise SessionPredatesRecovery()
    outcome = _cancel_or_lock(provider, None, deps.clock(), origin, deps)
    record_outcome(CANCEL, outcome, provider.compact, provider.provider_id)


def _cancel_or_lock(
    provider: Provider,
    link: NotMeLink | None,
    now: datetime,
    origin: RequestOrigin,
    deps: RecoveryDeps,
) -> str:
    """Cancel the pending recovery; lock instead if one completed or is completing."""
    given = provider.given_name
    if not _recovered_since(provider, link, now):
        try:
            deps.providers.cancel_recovery(provider, link, now, origin)
        except ConditionFailed:
            # Used already, or a verify claimed the record or completed since it was read.
            if link is not None and not _still_unused(provider, link, deps):
                return "already_used"
            provider = deps.providers.get(provider.compact, provider.provider_id) or provider
            if link is None and not _recovered_since(provider, link, now):
                return "already_cancelled"  # the record moved on, with nothing to lock
        else:
            links = deps.policy.links
            _notify(provider, lambda to: emails.recovery_cancelled_notice(to, given, links), deps)
            return "cancelled"
    return _lock(provider, link, now, origin, deps)


def _still_unused(provider: Provider, link: NotMeLink, deps: RecoveryDeps) -> bool:
    stored = deps.providers.not_me_link(provider.compact, provider.provider_id, link.token.token_id)
    return stored is not None


def _recovered_since(provider: Provider, link: NotMeLink | None, now: datetime) -> bool:
    """Whether a recovery completed since the link was issued, or one is being completed."""
    completed = (
        link is not None
        and provider.recovered_at is not None
        and provider.recovered_at >= link.issued_at
    )
    in_flight = provider.claimed_until is not None and provider.claimed_until >= now
    return completed or in_flight


def _lock(
    provider: Provider,
    link: NotMeLink | None,
    now: datetime,
    origin: RequestOrigin,
    deps: RecoveryDeps,
) -> str:
    """Lock first, then disable the user, then spend the link: a failure midway retries whole.

    A verify that completes after the lock is refused and disables the user it created itself,
    so whichever order the two run in, the account ends locked with its user disabled.
    """
    email = provider.registered_email or ""
    deps.providers.lock(provider, now, origin)
    deps.identity.disable_user(email)
    try:
        if link is not None:
            deps.providers.use_not_me_link(provider, link)
    except ConditionFailed:
        return "already_used"  # a concurrent use of the same link locked too, and notifies
    _notify(provider, lambda to: emails.account_locked_notice(to, provider.given_name), deps)
    return "locked"


def _notify(provider: Provider, build: Callable[[str], MailMessage], deps: RecoveryDeps) -> None:
    for address in provider.verified_emails:
        deps.mailer.send(build(address))


def unlock_account(compact: str, provider_id: str, operator: str, deps: RecoveryDeps) -> None:
    """Let a locked account recover again and sign in; logs which operator did it.

    Raises NotFound for an unknown provider and ConditionFailed if it is not locked.
    """
    provider = deps.providers.get(compact, provider_id)
    if provider is None:
        raise NotFound("No such provider")
    deps.providers.unlock(provider, deps.clock(), operator)
    if provider.registered_email is not None:
        deps.identity.enable_user(provider.registered_email)
    # An operator action that re-opens an account: always on record, with who ran it.
    log.warning("account unlocked by operator %s", operator)
    record_outcome("unlock_account", "unlocked", compact, provider_id, level=logging.WARNING)
