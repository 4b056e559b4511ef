"""GET /provider-users/me and DELETE /provider-users/me/pendingRecovery."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import flask

from core.models import AccountEvent, Profile
from core.services.not_me import cancel_own_recovery
from core.services.profile import get_profile
from handlers.context import dependencies, origin


def get_me(token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """The signed-in provider's profile, licenses and recent account events."""
    profile = get_profile(token_info["identity"], dependencies().profile)
    return _body(profile), 200, {"Content-Type": "application/json"}


def cancel_pending_recovery(token_info: dict[str, Any]) -> flask.Response:
    """Cancel the signed-in provider's pending recovery: 204, with no Content-Type.

    Returned as a bare tuple, Connexion labels the empty answer with the operation's first
    media type, application/problem+json, which clients read as an error.
    """
    cancel_own_recovery(token_info["identity"], origin(), dependencies().recovery)
    answer = flask.Response(status=204)
    del answer.headers["Content-Type"]
    return answer


def _pending(profile: Profile) -> dict[str, Any]:
    pending = profile.pending_recovery
    if pending is None:
        return {}
    requested = pending.requested_at or pending.expires_at
    return {
        "pendingRecovery": {
            "requestedAt": _api_time(requested),
            "usableFrom": _api_time(pending.usable_from or requested),
            "expiresAt": _api_time(pending.expires_at),
        }
    }


def _body(profile: Profile) -> dict[str, Any]:
    provider = profile.provider
    return {
        "providerId": provider.provider_id,
        "compact": provider.compact,
        "givenName": provider.given_name,
        "familyName": provider.family_name,
        "email": provider.registered_email,
        "homeJurisdiction": provider.home_jurisdiction,
        "licenses": [
            {
                "jurisdiction": lic.jurisdiction,
                "licenseType": lic.license_type,
                "licenseNumber": lic.license_number,
                "licenseStatus": lic.license_status,
            }
            for lic in profile.licenses
        ],
        "events": [_event(event) for event in profile.events],
    } | _pending(profile)


def _event(event: AccountEvent) -> dict[str, str]:
    body = {"type": event.event_type, "occurredAt": _api_time(event.occurred_at)}
    if event.origin.ip:
        body["ipAddress"] = event.origin.ip
    if event.origin.browser:
        body["browser"] = event.origin.browser
    return body


def _api_time(moment: datetime) -> str:
    """The spec's date-time: UTC, microseconds, a Z."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
