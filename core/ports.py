"""The small interfaces services depend on; adapters and test fakes implement them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from core.models import (
    IdentityUser,
    License,
    LicenseFacts,
    MailMessage,
    NotMeLink,
    PendingRecovery,
    Profile,
    Provider,
    RequestOrigin,
    Reservation,
    RiskContext,
)

Clock = Callable[[], datetime]


class LicenseStore(Protocol):
    def find_match(self, facts: LicenseFacts) -> License | None: ...


class ProviderStore(Protocol):
    def get(self, compact: str, provider_id: str) -> Provider | None: ...
    def email_owner(self, email: str) -> tuple[str, str] | None: ...
    def claim(
        self,
        provider: Provider,
        claim_id: str,
        now: datetime,
        until: datetime,
        token_hash: str | None = None,
    ) -> None: ...
    def release_claim(self, provider: Provider, claim_id: str) -> None: ...
    def record_registration(
        self,
        provider: Provider,
        email: str,
        home_jurisdiction: str,
        claim_id: str,
        now: datetime,
        origin: RequestOrigin = ...,
    ) -> None: ...
    def store_recovery_token(
        self,
        provider: Provider,
        pending: PendingRecovery,
        now: datetime,
        not_me: NotMeLink | None = ...,
        origin: RequestOrigin = ...,
    ) -> None: ...
    def clear_recovery_token(self, provider: Provider, token_hash: str) -> None: ...
    def complete_recovery(
        self,
        provider: Provider,
        claim_id: str,
        now: datetime,
        not_me: NotMeLink | None = ...,
        origin: RequestOrigin = ...,
    ) -> None: ...
    def not_me_link(self, compact: str, provider_id: str, token_id: str) -> NotMeLink | None: ...
    def cancel_recovery(
        self, provider: Provider, link: NotMeLink | None, now: datetime, origin: RequestOrigin
    ) -> None: ...
    def lock(self, provider: Provider, now: datetime, origin: RequestOrigin) -> None: ...
    def use_not_me_link(self, provider: Provider, link: NotMeLink) -> None: ...
    def unlock(self, provider: Provider, now: datetime, operator: str) -> None: ...


class ProfileReader(Protocol):
    """The read side of the profile: a provider, its licenses and newest events together."""

    def read(self, compact: str, provider_id: str, events: int) -> Profile | None: ...


class AttemptCounter(Protocol):
    def record(self, key: str, now: datetime, window_seconds: int) -> None: ...
    def count(self, key: str, now: datetime, window_seconds: int) -> int: ...
    def record_and_count(self, key: str, now: datetime, window_seconds: int) -> int: ...
    def record_within(self, key: str, now: datetime, window_seconds: int, limit: int) -> bool: ...
    def reserve(
        self, key: str, now: datetime, cap: int, hold_until: datetime
    ) -> Reservation | None: ...
    def confirm(self, reservation: Reservation, hold_until: datetime) -> None: ...
    def release(self, reservation: Reservation) -> None: ...


class Executor(Protocol):
    def submit(self, operation: str, work: Callable[[], None]) -> bool: ...


class Identity(Protocol):
    def get_user(self, username: str) -> IdentityUser | None: ...
    def create_user(
        self, username: str, attributes: dict[str, str], temporary_password: str
    ) -> None: ...
    def set_temporary_password(self, username: str, temporary_password: str) -> None: ...
    def delete_user(self, username: str) -> None: ...
    def disable_user(self, username: str) -> None: ...
    def enable_user(self, username: str) -> None: ...
    def password_is_valid(
        self, username: str, password: str, risk: RiskContext | None = ...
    ) -> bool: ...


class Mailer(Protocol):
    def send(self, message: MailMessage) -> None: ...


class Recaptcha(Protocol):
    def verify(self, token: str, remote_ip: str | None) -> bool: ...


class TokenHasher(Protocol):
    def hash(self, secret: str) -> str: ...
    def verify(self, hashed: str, secret: str) -> bool: ...
