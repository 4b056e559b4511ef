"""Provider-table items and the domain objects they hold: one mapping, for writes and reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.adapters import key_layout
from core.models import AccountEvent, PendingRecovery, Provider, RequestOrigin


def to_event(item: dict[str, Any]) -> AccountEvent:
    """An account event from its stored item."""
    return AccountEvent(
        event_type=item["eventType"],
        occurred_at=key_layout.from_stored(item["occurredAt"]),
        origin=RequestOrigin(ip=item.get("ip"), browser=item.get("browser")),
    )


def provider_key(compact: str, provider_id: str) -> dict[str, str]:
    """The key of a provider's own item."""
    return {
        "pk": key_layout.provider_pk(compact, provider_id),
        "sk": key_layout.provider_sk(compact),
    }


def to_provider(item: dict[str, Any]) -> Provider:
    """A provider from its stored item."""

    def moment(name: str) -> datetime | None:
        return key_layout.from_stored(item[name]) if name in item else None

    pending = None
    if "recoveryTokenHash" in item:
        pending = PendingRecovery(
            token_hash=item["recoveryTokenHash"],
            expires_at=key_layout.from_stored(item["recoveryExpiresAt"]),
            token_id=item.get("recoveryTokenId", ""),
            requested_at=moment("recoveryRequestedAt"),
            usable_from=moment("recoveryUsableFrom"),
        )
    return Provider(
        provider_id=item["providerId"],
        compact=item["compact"],
        given_name=item["givenName"],
        family_name=item["familyName"],
        registered_email=item.get("registeredEmail"),
        home_jurisdiction=item.get("homeJurisdiction"),
        registered_at=moment("registeredAt"),
        recovered_at=moment("recoveredAt"),
        sessions_not_before=moment("sessionsNotBefore"),
        pending_recovery=pending,
        claim_id=item.get("claimId"),
        claimed_until=moment("claimedUntil"),
        locked_at=moment("lockedAt"),
    )
