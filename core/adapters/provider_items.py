"""Provider-table items and the domain objects they hold: one mapping, for writes and reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.adapters import key_layout
from core.link_tokens import StoredLinkToken
from core.models import AccountEvent, NotMeLink, PendingRecovery, Provider, RequestOrigin


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


def not_me_key(compact: str, provider_id: str, token_id: str) -> dict[str, str]:
    """The key of one of a provider's "Not me" links."""
    return {
        "pk": key_layout.provider_pk(compact, provider_id),
        "sk": key_layout.not_me_sk(compact, token_id),
    }


def to_not_me_link(item: dict[str, Any], token_id: str) -> NotMeLink:
    """A "Not me" link from its stored item."""
    token = StoredLinkToken(
        token_hash=item["tokenHash"],
        expires_at=key_layout.from_stored(item["expiresAt"]),
        token_id=token_id,
    )
    return NotMeLink(token=token, issued_at=key_layout.from_stored(item["issuedAt"]))


def not_me_puts(table: str, provider: Provider, link: NotMeLink | None) -> list[dict[str, Any]]:
    """The transaction items that store a "Not me" link: none without a link."""
    if link is None:
        return []
    item = not_me_key(provider.compact, provider.provider_id, link.token.token_id) | {
        "type": "not-me-link",
        "tokenHash": link.token.token_hash,
        "expiresAt": key_layout.to_stored(link.token.expires_at),
        "issuedAt": key_layout.to_stored(link.issued_at),
        # For a TTL on the table: DynamoDB can drop expired links by itself.
        "ttl": int(link.token.expires_at.timestamp()),
    }
    return [{"Put": {"TableName": table, "Item": item}}]


def not_me_delete(table: str, provider: Provider, link: NotMeLink) -> dict[str, Any]:
    """The transaction item that spends a "Not me" link: only one request deletes it."""
    return {
        "Delete": {
            "TableName": table,
            "Key": not_me_key(provider.compact, provider.provider_id, link.token.token_id),
            "ConditionExpression": "tokenHash = :hash",
            "ExpressionAttributeValues": {":hash": link.token.token_hash},
        }
    }
