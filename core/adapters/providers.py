"""Provider records: registration, recovery tokens, claims and account history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from core.adapters import key_layout
from core.adapters.aws_errors import aws_call, conditional_write
from core.adapters.dynamo_table import DynamoTable
from core.adapters.provider_items import (
    not_me_delete,
    not_me_key,
    not_me_puts,
    provider_key,
    to_not_me_link,
    to_provider,
)
from core.errors import ConditionFailed
from core.models import NotMeLink, PendingRecovery, Provider, RequestOrigin

EMAIL_SK = "EMAIL"
_NO_ORIGIN = RequestOrigin()
_PENDING_ATTRIBUTES = (
    "recoveryTokenId, recoveryTokenHash, recoveryExpiresAt, recoveryRequestedAt, recoveryUsableFrom"
)


class DynamoProviderStore:
    """Reads and conditionally writes provider records in the provider table."""

    def __init__(self, table: DynamoTable) -> None:
        self._table = table
        self._name = table.name

    def get(self, compact: str, provider_id: str) -> Provider | None:
        """The provider record, strongly consistent, or None."""
        with aws_call("dynamodb", "GetItem"):
            item = self._table.get_item(provider_key(compact, provider_id))
        return to_provider(item) if item else None

    def email_owner(self, email: str) -> tuple[str, str] | None:
        """(compact, providerId) of the account registered with this email, if any."""
        with aws_call("dynamodb", "GetItem"):
            item = self._table.get_item({"pk": key_layout.email_pk(email), "sk": EMAIL_SK})
        return (item["compact"], item["providerId"]) if item else None

    def ensure_provider(self, compact: str, provider_id: str, given: str, family: str) -> None:
        """Create the provider record if missing and set its names (used by seeding)."""
        with aws_call("dynamodb", "UpdateItem"):
            self._table.update_item(
                provider_key(compact, provider_id),
                UpdateExpression="SET #type = :t, providerId = :p, #compact = :c, "
                "givenName = :g, familyName = :f",
                # "type" and "compact" are DynamoDB reserved words.
                ExpressionAttributeNames={"#type": "type", "#compact": "compact"},
                ExpressionAttributeValues={
                    ":t": "provider",
                    ":p": provider_id,
                    ":c": compact,
                    ":g": given,
                    ":f": family,
                },
            )

    def claim(
        self,
        provider: Provider,
        claim_id: str,
        now: datetime,
        until: datetime,
        token_hash: str | None = None,
    ) -> None:
        """Take the provider's exclusive claim until `until`; ConditionFailed if someone holds it.

        The claim also pins what the caller saw: the registered email, and for recovery the
        pending token hash, so that a claim is never granted on a record that changed. A locked
        account gets no new user, by registration or by recovery, until an operator unlocks it.
        """
        condition = (
            "attribute_exists(pk) AND attribute_not_exists(lockedAt) AND "
            "(attribute_not_exists(claimedUntil) OR claimedUntil < :now)"
        )
        values: dict[str, Any] = {
            ":claim": claim_id,
            ":until": key_layout.to_stored(until),
            ":now": key_layout.to_stored(now),
        }
        if provider.registered_email is None:
            condition += " AND attribute_not_exists(registeredEmail)"
        else:
            condition += " AND registeredEmail = :email"
            values[":email"] = provider.registered_email
        if not provider.recovery_began:  # decided on an account no recovery had reached
            condition += " AND attribute_not_exists(recoveredAt)"
            condition += " AND attribute_not_exists(sessionsNotBefore)"
        update = "SET claimId = :claim, claimedUntil = :until"
        if token_hash is not None:
            condition += " AND recoveryTokenHash = :hash"
            values[":hash"] = token_hash
            # A recovery is about to delete the user: from now on no older session counts,
            # even if the recovery is interrupted before it completes.
            update += ", sessionsNotBefore = :now"
        self._conditional_update(provider, update, condition, values)

    def release_claim(self, provider: Provider, claim_id: str) -> None:
        """Give up a claim early; harmless if it already lapsed or was taken over."""
        try:
            self._conditional_update(
                provider,
                "REMOVE claimId, claimedUntil",
                "claimId = :claim",
                {":claim": claim_id},
            )
        except ConditionFailed:
            return

    def record_registration(
        self,
        provider: Provider,
        email: str,
        home_jurisdiction: str,
        claim_id: str,
        now: datetime,
        origin: RequestOrigin = _NO_ORIGIN,
    ) -> None:
        """Record the account, reserve its email and log the event, all in one transaction."""
        email = email.lower()
        items: list[dict[str, Any]] = [
            self._update_item(
                provider,
                "SET registeredEmail = :email, homeJurisdiction = :home, registeredAt = :now "
                "REMOVE claimId, claimedUntil",
                "claimId = :claim AND attribute_not_exists(lockedAt)",  # not locked meanwhile
                {
                    ":email": email,
                    ":home": home_jurisdiction,
                    ":now": key_layout.to_stored(now),
                    ":claim": claim_id,
                },
            ),
            {
                "Put": {
                    "TableName": self._name,
                    "Item": (
                        {
                            "pk": key_layout.email_pk(email),
                            "sk": EMAIL_SK,
                            "type": "email",
                            "compact": provider.compact,
                            "providerId": provider.provider_id,
                        }
                    ),
                    **_owned_by(provider),
                }
            },
            self._event_put(provider, "registered", now, origin),
        ]
        old = provider.registered_email
        if old is not None and old.lower() != email:
            items.append(
                {
                    "Delete": {
                        "TableName": self._name,
                        "Key": {"pk": key_layout.email_pk(old), "sk": EMAIL_SK},
                        **_owned_by(provider),
                    }
                }
            )
        self._transact(items)

    def store_recovery_token(
        self,
        provider: Provider,
        pending: PendingRecovery,
        now: datetime,
        not_me: NotMeLink | None = None,
        origin: RequestOrigin = _NO_ORIGIN,
    ) -> None:
        """Replace any pending recovery token with this one, keep its "Not me" link, log it."""
        self._transact(
            [
                self._update_item(
                    provider,
                    "SET recoveryTokenId = :id, recoveryTokenHash = :hash, "
                    "recoveryExpiresAt = :exp, recoveryRequestedAt = :now, "
                    "recoveryUsableFrom = :from",
                    # Not while a claim is live: a verify in flight would consume the new token.
                    "registeredEmail = :email AND attribute_not_exists(lockedAt) AND "
                    "(attribute_not_exists(claimedUntil) OR claimedUntil < :now)",
                    {
                        ":id": pending.token_id,
                        ":hash": pending.token_hash,
                        ":exp": key_layout.to_stored(pending.expires_at),
                        ":from": key_layout.to_stored(pending.usable_from or now),
                        ":email": provider.registered_email,
                        ":now": key_layout.to_stored(now),
                    },
                ),
                self._event_put(provider, "recovery_requested", now, origin),
                *not_me_puts(self._name, provider, not_me),
            ]
        )

    def clear_recovery_token(self, provider: Provider, token_hash: str) -> None:
        """Forget an expired token, unless a newer one replaced it meanwhile."""
        try:
            self._conditional_update(
                provider,
                f"REMOVE {_PENDING_ATTRIBUTES}",
                "recoveryTokenHash = :hash",
                {":hash": token_hash},
            )
        except ConditionFailed:
            return

    def complete_recovery(
        self,
        provider: Provider,
        claim_id: str,
        now: datetime,
        not_me: NotMeLink | None = None,
        origin: RequestOrigin = _NO_ORIGIN,
    ) -> None:
        """Consume the token, drop the claim, stamp recoveredAt and log it, atomically.

        ConditionFailed when the claim lapsed or a "Not me" locked the account meanwhile.
        """
        self._transact(
            [
                self._update_item(
                    provider,
                    f"SET recoveredAt = :now REMOVE {_PENDING_ATTRIBUTES}, claimId, claimedUntil",
                    "claimId = :claim AND attribute_not_exists(lockedAt)",
                    {":now": key_layout.to_stored(now), ":claim": claim_id},
                ),
                self._event_put(provider, "recovery_completed", now, origin),
                *not_me_puts(self._name, provider, not_me),
            ]
        )

    def not_me_link(self, compact: str, provider_id: str, token_id: str) -> NotMeLink | None:
        """The provider's "Not me" link with this id, or None."""
        with aws_call("dynamodb", "GetItem"):
            item = self._table.get_item(not_me_key(compact, provider_id, token_id))
        return None if item is None else to_not_me_link(item, token_id)

    def cancel_recovery(
        self, provider: Provider, link: NotMeLink | None, now: datetime, origin: RequestOrigin
    ) -> None:
        """Use the link to drop the pending recovery, atomically with logging it.

        ConditionFailed when the link was used already, or when the record moved on since it
        was read: a verify claimed it or a recovery completed. The caller then locks instead.
        """
        condition = (
            "attribute_exists(pk) AND (attribute_not_exists(claimedUntil) OR claimedUntil < :now)"
        )
        values = {":now": key_layout.to_stored(now)}
        if provider.recovered_at is None:
            condition += " AND attribute_not_exists(recoveredAt)"
        else:
            condition += " AND recoveredAt = :seen"
            values[":seen"] = key_layout.to_stored(provider.recovered_at)
        spend = [not_me_delete(self._name, provider, link)] if link is not None else []
        if link is None:  # the signed-in owner cancels: only while a recovery is pending
            condition += " AND attribute_exists(recoveryTokenHash)"
        self._transact(
            [
                *spend,
                self._update_item(provider, f"REMOVE {_PENDING_ATTRIBUTES}", condition, values),
                self._event_put(provider, "recovery_cancelled", now, origin),
            ]
        )

    def lock(self, provider: Provider, now: datetime, origin: RequestOrigin) -> None:
        """Lock the account: no recovery until unlocked, every session older than now cut.

        Idempotent, so that a "Not me" interrupted after this write locks again on retry; the
        first lock's time is kept, and only the first lock is an event of the history (two
        "Not me" links used at once used to write one each).
        """
        update = (
            "SET lockedAt = if_not_exists(lockedAt, :now), sessionsNotBefore = :now "
            f"REMOVE {_PENDING_ATTRIBUTES}"
        )
        values = {":now": key_layout.to_stored(now)}
        first = "attribute_exists(pk) AND attribute_not_exists(lockedAt)"
        try:
            self._transact(
                [
                    self._update_item(provider, update, first, values),
                    self._event_put(provider, "account_locked", now, origin),
                ]
            )
        except ConditionFailed:  # locked already (or no such provider: this raises again)
            self._conditional_update(provider, update, "attribute_exists(pk)", values)

    def use_not_me_link(self, provider: Provider, link: NotMeLink) -> None:
        """Delete a used link; ConditionFailed if another request used it first."""
        self._transact([not_me_delete(self._name, provider, link)])

    def unlock(self, provider: Provider, now: datetime, operator: str) -> None:
        """Allow recovery again and log who did it; ConditionFailed if the account is not locked."""
        self._transact(
            [
                self._update_item(provider, "REMOVE lockedAt", "attribute_exists(lockedAt)", {}),
                self._event_put(
                    provider, "account_unlocked", now, RequestOrigin(browser=f"operator {operator}")
                ),
            ]
        )

    def _conditional_update(
        self, provider: Provider, update: str, condition: str, values: dict[str, Any]
    ) -> None:
        with conditional_write("UpdateItem"):
            self._table.update_item(
                provider_key(provider.compact, provider.provider_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )

    def _transact(self, items: list[dict[str, Any]]) -> None:
        with conditional_write("TransactWriteItems"):
            self._table.transact_write(items)

    def _update_item(
        self, provider: Provider, update: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        item = {
            "TableName": self._name,
            "Key": provider_key(provider.compact, provider.provider_id),
            "UpdateExpression": update,
            "ConditionExpression": condition,
        }
        if values:  # DynamoDB refuses an empty map of values
            item["ExpressionAttributeValues"] = values
        return {"Update": item}

    def _event_put(
        self,
        provider: Provider,
        event_type: str,
        now: datetime,
        origin: RequestOrigin = _NO_ORIGIN,
    ) -> dict[str, Any]:
        item = {
            "pk": key_layout.provider_pk(provider.compact, provider.provider_id),
            "sk": key_layout.history_sk(provider.compact, now, uuid.uuid4().hex),
            "type": "event",
            "eventType": event_type,
            "occurredAt": key_layout.to_stored(now),
        }
        # Where the causing request came from; an address and a fixed-vocabulary browser name.
        item |= {name: value for name, value in vars(origin).items() if value}
        return {"Put": {"TableName": self._name, "Item": item}}


def _owned_by(provider: Provider) -> dict[str, Any]:
    """Condition: the email reservation is free, or already belongs to this provider."""
    return {
        "ConditionExpression": "attribute_not_exists(pk) OR (providerId = :pid AND #c = :c)",
        "ExpressionAttributeNames": {"#c": "compact"},  # a reserved word
        "ExpressionAttributeValues": {":pid": provider.provider_id, ":c": provider.compact},
    }
