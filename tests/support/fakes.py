"""In-memory fakes of the core's ports, faithful to the adapters' conditional semantics.

The identity pool's fake lives in tests/support/fake_identity.py.

Every fake can be told to fail once: `fake.fail_next("method", error)` makes the next call of
that method raise `error` before it changes anything, as a failed AWS call would.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from core.errors import ConditionFailed
from core.models import (
    AccountEvent,
    License,
    LicenseFacts,
    MailMessage,
    NotMeLink,
    PendingRecovery,
    Profile,
    Provider,
    RequestOrigin,
    Reservation,
)

START = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
NO_ORIGIN = RequestOrigin()


class MutableClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move time forward, e.g. advance(minutes=15); returns the new time."""
        self.now += timedelta(**delta)
        return self.now


class FailsOnDemand:
    """One-shot failure injection, checked at the start of every faked method."""

    def __init__(self) -> None:
        self._failures: dict[str, Exception] = {}

    def fail_next(self, method: str, error: Exception) -> None:
        """Make the next call of `method` raise `error` (once)."""
        if not callable(getattr(self, method, None)):
            raise AttributeError(f"{type(self).__name__} has no method {method!r}")
        self._failures[method] = error

    def _check(self, method: str) -> None:
        error = self._failures.pop(method, None)
        if error is not None:
            raise error


class FakeLicenseStore(FailsOnDemand):
    """License records in a list; matches like DynamoLicenseStore (one provider or none)."""

    def __init__(self, licenses: list[License] | None = None) -> None:
        super().__init__()
        self.licenses = list(licenses or [])

    def find_match(self, facts: LicenseFacts) -> License | None:
        self._check("find_match")
        matches = [lic for lic in self.licenses if lic.matches(facts)]
        if len({lic.provider_id for lic in matches}) != 1:
            return None
        return matches[0]

    def list_for_provider(self, compact: str, provider_id: str) -> list[License]:
        self._check("list_for_provider")
        return [
            lic for lic in self.licenses if (lic.compact, lic.provider_id) == (compact, provider_id)
        ]


class FakeProviderStore(FailsOnDemand):
    """Provider records, email reservations and history with DynamoProviderStore's conditions."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[tuple[str, str], Provider] = {}
        self.emails: dict[str, tuple[str, str]] = {}
        self.events: dict[tuple[str, str], list[AccountEvent]] = {}
        self.not_me_links: dict[tuple[str, str, str], NotMeLink] = {}

    def add(self, provider: Provider) -> Provider:
        """Store a record as seeding (or an earlier registration) would have left it."""
        key = (provider.compact, provider.provider_id)
        self.records[key] = provider
        if provider.registered_email is not None:
            self.emails[provider.registered_email.lower()] = key
        return provider

    def get(self, compact: str, provider_id: str) -> Provider | None:
        self._check("get")
        return self.records.get((compact, provider_id))

    def email_owner(self, email: str) -> tuple[str, str] | None:
        self._check("email_owner")
        return self.emails.get(email.lower())

    def claim(
        self,
        provider: Provider,
        claim_id: str,
        now: datetime,
        until: datetime,
        token_hash: str | None = None,
    ) -> None:
        self._check("claim")
        stored = self._stored(provider)
        if stored.locked_at is not None:
            raise ConditionFailed()
        if stored.claimed_until is not None and not stored.claimed_until < now:
            raise ConditionFailed()
        if stored.registered_email != provider.registered_email:
            raise ConditionFailed()
        if not provider.recovery_began and stored.recovery_began:
            raise ConditionFailed()
        stored_hash = stored.pending_recovery.token_hash if stored.pending_recovery else None
        if token_hash is not None and stored_hash != token_hash:
            raise ConditionFailed()
        not_before = now if token_hash is not None else stored.sessions_not_before
        self._put(
            replace(stored, claim_id=claim_id, claimed_until=until, sessions_not_before=not_before)
        )

    def release_claim(self, provider: Provider, claim_id: str) -> None:
        self._check("release_claim")
        stored = self._stored(provider)
        if stored.claim_id == claim_id:
            self._put(replace(stored, claim_id=None, claimed_until=None))

    def record_registration(
        self,
        provider: Provider,
        email: str,
        home_jurisdiction: str,
        claim_id: str,
        now: datetime,
        origin: RequestOrigin = NO_ORIGIN,
    ) -> None:
        self._check("record_registration")
        email = email.lower()
        key = (provider.compact, provider.provider_id)
        stored = self._stored(provider)
        # One transaction: the claim, the new reservation and the old one's removal all hold.
        old = provider.registered_email.lower() if provider.registered_email else None
        dropped = [old] if old is not None and old != email else []
        if (
            stored.claim_id != claim_id
            or stored.locked_at is not None
            or any(self.emails.get(address, key) != key for address in [email, *dropped])
        ):
            raise ConditionFailed()
        self._put(
            replace(
                stored,
                registered_email=email,
                home_jurisdiction=home_jurisdiction,
                registered_at=now,
                claim_id=None,
                claimed_until=None,
            )
        )
        self.emails[email] = key
        for address in dropped:
            del self.emails[address]
        self._event(provider, "registered", now, origin)

    def store_recovery_token(
        self,
        provider: Provider,
        pending: PendingRecovery,
        now: datetime,
        not_me: NotMeLink | None = None,
        origin: RequestOrigin = NO_ORIGIN,
    ) -> None:
        self._check("store_recovery_token")
        stored = self._stored(provider)
        if stored.registered_email is None or stored.registered_email != provider.registered_email:
            raise ConditionFailed()
        if stored.locked_at is not None:
            raise ConditionFailed()
        if stored.claimed_until is not None and not stored.claimed_until < now:
            raise ConditionFailed()
        self._put(replace(stored, pending_recovery=pending))
        self._event(provider, "recovery_requested", now, origin)
        self._keep_not_me(provider, not_me)

    def clear_recovery_token(self, provider: Provider, token_hash: str) -> None:
        self._check("clear_recovery_token")
        stored = self._stored(provider)
        if stored.pending_recovery and stored.pending_recovery.token_hash == token_hash:
            self._put(replace(stored, pending_recovery=None))

    def complete_recovery(
        self,
        provider: Provider,
        claim_id: str,
        now: datetime,
        not_me: NotMeLink | None = None,
        origin: RequestOrigin = NO_ORIGIN,
    ) -> None:
        self._check("complete_recovery")
        stored = self._stored(provider)
        if stored.claim_id != claim_id or stored.locked_at is not None:
            raise ConditionFailed()
        self._put(
            replace(
                stored, recovered_at=now, pending_recovery=None, claim_id=None, claimed_until=None
            )
        )
        self._event(provider, "recovery_completed", now, origin)
        self._keep_not_me(provider, not_me)

    def not_me_link(self, compact: str, provider_id: str, token_id: str) -> NotMeLink | None:
        self._check("not_me_link")
        return self.not_me_links.get((compact, provider_id, token_id))

    def cancel_recovery(
        self, provider: Provider, link: NotMeLink | None, now: datetime, origin: RequestOrigin
    ) -> None:
        self._check("cancel_recovery")
        stored = self._stored(provider)
        claimed = stored.claimed_until is not None and not stored.claimed_until < now
        if claimed or stored.recovered_at != provider.recovered_at:
            raise ConditionFailed()
        if link is None and stored.pending_recovery is None:
            raise ConditionFailed()
        if link is not None:
            self._spend(provider, link)
        self._put(replace(stored, pending_recovery=None))
        self._event(provider, "recovery_cancelled", now, origin)

    def lock(self, provider: Provider, now: datetime, origin: RequestOrigin) -> None:
        self._check("lock")
        stored = self._stored(provider)
        locked_at = stored.locked_at or now
        self._put(
            replace(stored, locked_at=locked_at, sessions_not_before=now, pending_recovery=None)
        )
        if stored.locked_at is None:
            self._event(provider, "account_locked", now, origin)

    def use_not_me_link(self, provider: Provider, link: NotMeLink) -> None:
        self._check("use_not_me_link")
        self._spend(provider, link)

    def unlock(self, provider: Provider, now: datetime, operator: str) -> None:
        self._check("unlock")
        stored = self._stored(provider)
        if stored.locked_at is None:
            raise ConditionFailed()
        self._put(replace(stored, locked_at=None))
        operator_origin = RequestOrigin(browser=f"operator {operator}")
        self._event(provider, "account_unlocked", now, operator_origin)

    def _keep_not_me(self, provider: Provider, link: NotMeLink | None) -> None:
        if link is not None:
            key = (provider.compact, provider.provider_id, link.token.token_id)
            self.not_me_links[key] = link

    def _spend(self, provider: Provider, link: NotMeLink) -> None:
        key = (provider.compact, provider.provider_id, link.token.token_id)
        if key not in self.not_me_links:
            raise ConditionFailed()
        del self.not_me_links[key]

    def recent_events(self, compact: str, provider_id: str, limit: int) -> list[AccountEvent]:
        self._check("recent_events")
        events = self.events.get((compact, provider_id), [])
        return sorted(events, key=lambda e: e.occurred_at, reverse=True)[:limit]

    def event_types(self, provider: Provider) -> list[str]:
        """The provider's event types, oldest first."""
        return [e.event_type for e in self.events.get((provider.compact, provider.provider_id), [])]

    def _stored(self, provider: Provider) -> Provider:
        stored = self.records.get((provider.compact, provider.provider_id))
        if stored is None:  # attribute_exists(pk) fails on a missing item
            raise ConditionFailed()
        return stored

    def _put(self, provider: Provider) -> None:
        self.records[(provider.compact, provider.provider_id)] = provider

    def _event(
        self,
        provider: Provider,
        event_type: str,
        now: datetime,
        origin: RequestOrigin = NO_ORIGIN,
    ) -> None:
        key = (provider.compact, provider.provider_id)
        self.events.setdefault(key, []).append(AccountEvent(event_type, now, origin))


class FakeAttemptCounter(FailsOnDemand):
    """Attempts per key, counted strictly inside the window ending now; reservation slots."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts: dict[str, list[datetime]] = {}
        self.refused: dict[str, list[datetime]] = {}
        # (key, slot) -> (holder, held until), as DynamoAttemptCounter's slot items hold them
        self.holds: dict[tuple[str, int], tuple[str, datetime]] = {}

    def record_and_count(self, key: str, now: datetime, window_seconds: int) -> int:
        self._check("record_and_count")
        self.record(key, now, window_seconds)
        return self.count(key, now, window_seconds)

    def record_within(self, key: str, now: datetime, window_seconds: int, limit: int) -> bool:
        self._check("record_within")
        self.record(key, now, window_seconds)
        if self.count(key, now, window_seconds) <= limit:
            return True
        self.attempts[key].remove(now)  # refused: it counts no more
        self.refused.setdefault(key, []).append(now)
        return False

    def record(self, key: str, now: datetime, window_seconds: int) -> None:  # noqa: ARG002
        self._check("record")
        self.attempts.setdefault(key, []).append(now)

    def count(self, key: str, now: datetime, window_seconds: int) -> int:
        self._check("count")
        start = now - timedelta(seconds=window_seconds)
        return sum(1 for moment in self.attempts.get(key, []) if start < moment <= now)

    def reserve(
        self, key: str, now: datetime, cap: int, hold_until: datetime
    ) -> Reservation | None:
        self._check("reserve")
        for slot in range(cap):
            held = self.holds.get((key, slot))
            if held is None or held[1] <= now:
                reservation = Reservation(key, slot, uuid.uuid4().hex, now)
                self.holds[(key, slot)] = (reservation.holder, hold_until)
                return reservation
        return None

    def confirm(self, reservation: Reservation, hold_until: datetime) -> None:
        self._check("confirm")
        if self._still_held_by(reservation):
            self.holds[(reservation.key, reservation.slot)] = (reservation.holder, hold_until)

    def release(self, reservation: Reservation) -> None:
        self._check("release")
        if self._still_held_by(reservation):
            del self.holds[(reservation.key, reservation.slot)]

    def held_until(self, key: str) -> list[datetime]:
        """Until when each held slot of `key` is held, released ones left out."""
        return [until for (k, _), (_, until) in sorted(self.holds.items()) if k == key]

    def _still_held_by(self, reservation: Reservation) -> bool:
        held = self.holds.get((reservation.key, reservation.slot))
        return held is not None and held[0] == reservation.holder


class RecordingMailer(FailsOnDemand):
    """Keeps every message it was asked to send; a failed send keeps nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[MailMessage] = []

    def send(self, message: MailMessage) -> None:
        self._check("send")
        self.sent.append(message)

    def recipients(self) -> list[str]:
        """Who got mail, in order."""
        return [message.to for message in self.sent]


class FakeRecaptcha(FailsOnDemand):
    """Accepts every token but 'fail'; records what it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.checked: list[tuple[str, str | None]] = []

    def verify(self, token: str, remote_ip: str | None) -> bool:
        self._check("verify")
        self.checked.append((token, remote_ip))
        return token != "fail"


class FakeProfileReader(FailsOnDemand):
    """The profile's read side over the fake stores' records, as DynamoProfileReader reads it."""

    def __init__(self, providers: FakeProviderStore, licenses: FakeLicenseStore) -> None:
        super().__init__()
        self._providers = providers
        self._licenses = licenses

    def read(self, compact: str, provider_id: str, events: int) -> Profile | None:
        self._check("read")
        provider = self._providers.records.get((compact, provider_id))
        if provider is None:
            return None
        return Profile(
            provider=provider,
            licenses=self._licenses.list_for_provider(compact, provider_id),
            events=self._providers.recent_events(compact, provider_id, events),
        )
