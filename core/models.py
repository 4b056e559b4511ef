"""Plain data the services pass around; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from core.link_tokens import StoredLinkToken

LICENSE_TYPES_BY_COMPACT: dict[str, frozenset[str]] = {
    "aslp": frozenset({"audiologist", "speech-language pathologist"}),
    "octp": frozenset({"occupational therapist", "occupational therapy assistant"}),
    "coun": frozenset({"licensed professional counselor"}),
}


@dataclass(frozen=True)
class LicenseFacts:
    """What a practitioner states to prove which license record is theirs."""

    compact: str
    jurisdiction: str
    given_name: str
    family_name: str
    date_of_birth: date
    ssn_last_four: str
    license_type: str

    def __repr__(self) -> str:  # names, date of birth and SSN digits must never reach a log
        return f"LicenseFacts(compact={self.compact!r}, jurisdiction={self.jurisdiction!r})"


@dataclass(frozen=True)
class License:
    """One license record of a provider in one jurisdiction."""

    provider_id: str
    compact: str
    jurisdiction: str
    license_type: str
    license_number: str
    # Never in a repr: a log line or traceback quoting a license must not carry these.
    given_name: str = field(repr=False)
    family_name: str = field(repr=False)
    date_of_birth: date = field(repr=False)
    ssn_last_four: str = field(repr=False)
    license_status: str

    def matches(self, facts: LicenseFacts) -> bool:
        """True when every stated fact equals this record (names case-insensitively)."""
        return (
            self.compact == facts.compact
            and self.jurisdiction == facts.jurisdiction
            and self.license_type == facts.license_type
            and self.given_name.casefold() == facts.given_name.strip().casefold()
            and self.family_name.casefold() == facts.family_name.strip().casefold()
            and self.date_of_birth == facts.date_of_birth
            and self.ssn_last_four == facts.ssn_last_four
        )


@dataclass(frozen=True)
class PendingRecovery(StoredLinkToken):
    """A recovery link waiting to be used: its token, when it was asked for, when it works.

    usable_from is later than requested_at only under a cool-down (RECOVERY_COOLDOWN_SECONDS).
    """

    requested_at: datetime | None = None
    usable_from: datetime | None = None


@dataclass(frozen=True)
class Provider:
    """The provider record: registration state and recovery state."""

    provider_id: str
    compact: str
    given_name: str
    family_name: str
    registered_email: str | None = None
    home_jurisdiction: str | None = None
    registered_at: datetime | None = None
    recovered_at: datetime | None = None
    sessions_not_before: datetime | None = None
    pending_recovery: PendingRecovery | None = None
    claim_id: str | None = None
    claimed_until: datetime | None = None
    locked_at: datetime | None = None

    @property
    def verified_emails(self) -> list[str]:
        """Every verified address the record holds (today the registered one), for notices."""
        return [self.registered_email] if self.registered_email else []

    @property
    def recovery_began(self) -> bool:
        """Whether a recovery ever got as far as its claim (sessionsNotBefore) or its end.

        A recovery that recreated the user and then failed to finish leaves no recoveredAt, but
        the same unused invitation as one that finished.
        """
        return self.recovered_at is not None or self.sessions_not_before is not None

    @property
    def is_registered(self) -> bool:
        """Whether an account (an email) is recorded for this provider."""
        return self.registered_email is not None


@dataclass(frozen=True)
class NotMeLink:
    """A stored "Not me" link: its token (id, secret hash, expiry) and when it was issued.

    Whether using it cancels or locks depends on what happened since it was issued: a
    recovery completed (or being completed) since then is undone by locking the account.
    """

    token: StoredLinkToken
    issued_at: datetime


@dataclass(frozen=True)
class RequestOrigin:
    """Where a request came from: its client address and a short browser description."""

    ip: str | None = None
    browser: str | None = None


@dataclass(frozen=True)
class RiskContext:
    """What Cognito threat protection judges a sign-in by: the caller, as this service saw it.

    encoded_data is the frontend's user context data (Cognito's advanced security script).
    """

    ip: str
    user_agent: str | None = None
    encoded_data: str | None = None

    def __repr__(self) -> str:  # the encoded data fingerprints a device: keep it out of logs
        return f"RiskContext(ip={self.ip!r})"


@dataclass(frozen=True)
class AccountEvent:
    """One entry in a provider's account history; never carries secrets."""

    event_type: str
    occurred_at: datetime
    origin: RequestOrigin = RequestOrigin()


@dataclass(frozen=True)
class Profile:
    """What a provider may see of their own records: no SSN, date of birth or secrets."""

    provider: Provider
    licenses: list[License]
    events: list[AccountEvent]
    pending_recovery: PendingRecovery | None = None  # while a recovery link can still work


@dataclass(frozen=True)
class IdentityUser:
    """What the identity provider knows about a user."""

    username: str
    status: str
    enabled: bool
    last_modified: datetime
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def awaits_first_sign_in(self) -> bool:
        """Whether the invitation's temporary password was never changed."""
        return self.status == "FORCE_CHANGE_PASSWORD"


_NOT_IN_ADDRESS = ' \t\r\n,;<>"\x00'


@dataclass(frozen=True)
class Reservation:
    """One held slot of a capped key: `cap` slots per key, each held by one caller at a time."""

    key: str
    slot: int
    holder: str
    taken_at: datetime


@dataclass(frozen=True)
class MailMessage:
    """An email with a plain-text and an HTML part, to exactly one address."""

    to: str
    subject: str
    # The bodies carry temporary passwords and link tokens: never in a repr.
    text: str = field(repr=False)
    html: str = field(repr=False)

    def __post_init__(self) -> None:
        # Checked here, whatever validated the address before: a CR or LF would inject mail
        # headers, and a comma or a second @ would send one invitation to two inboxes.
        to = self.to
        if not isinstance(to, str) or to.count("@") != 1 or any(c in to for c in _NOT_IN_ADDRESS):
            raise ValueError("a message goes to exactly one plain address")
