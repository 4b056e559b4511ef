"""GET /provider-users/me."""

from __future__ import annotations

from typing import Any

from core.adapters.key_layout import to_stored
from core.models import Profile
from core.services.profile import get_profile
from handlers.context import dependencies


def get_me(token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """The signed-in provider's profile, licenses and recent account events."""
    profile = get_profile(token_info["identity"], dependencies().profile)
    return _body(profile), 200, {"Content-Type": "application/json"}


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
        "events": [
            {"type": event.event_type, "occurredAt": to_stored(event.occurred_at)}
            for event in profile.events
        ],
    }
