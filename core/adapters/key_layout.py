"""The provider table's key layout and the time format stored in it, in one place."""

from __future__ import annotations

from datetime import UTC, datetime

LICENSE_INDEX = "licenseLookup"


def provider_pk(compact: str, provider_id: str) -> str:
    """Partition key shared by a provider's record, licenses and history."""
    return f"{compact}#PROVIDER#{provider_id}"


def provider_sk(compact: str) -> str:
    """Sort key of the provider record itself."""
    return f"{compact}#PROVIDER"


def license_sk(compact: str, jurisdiction: str, license_type: str) -> str:
    """Sort key of one license record."""
    return f"{license_prefix(compact)}{jurisdiction}#{license_type}"


def license_prefix(compact: str) -> str:
    """Prefix of every license sort key of a provider."""
    return f"{compact}#LICENSE#"


def history_sk(compact: str, occurred_at: datetime, event_id: str) -> str:
    """Sort key of one account event; sorts by time."""
    return f"{history_prefix(compact)}{to_stored(occurred_at)}#{event_id}"


def history_prefix(compact: str) -> str:
    """Prefix of every history sort key of a provider."""
    return f"{compact}#HISTORY#"


def not_me_sk(compact: str, token_id: str) -> str:
    """Sort key of one "Not me" link of a provider, found by its public token id.

    CANCEL sorts before HISTORY: the profile's descending Query has its newest events (each
    link comes with one) before it would reach these.
    """
    return f"{compact}#CANCEL#{token_id}"


def email_pk(email: str) -> str:
    """Key of the item that reserves a registered email for one provider."""
    return f"EMAIL#{email.lower()}"


def license_lookup_pk(compact: str, jurisdiction: str) -> str:
    """Index partition key: licenses by compact and jurisdiction."""
    return f"{compact}#{jurisdiction}"


def license_lookup_sk(family_name: str, given_name: str) -> str:
    """Index sort key: case-folded family and given name."""
    return f"{family_name.strip().casefold()}#{given_name.strip().casefold()}"


def to_stored(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds and a Z; sorts lexically in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_stored(value: str) -> datetime:
    """Parse a time written by to_stored (fromisoformat: a tenth of strptime's cost)."""
    if not value.endswith("Z"):
        raise ValueError(f"not a stored UTC time: {value!r}")
    return datetime.fromisoformat(value)
