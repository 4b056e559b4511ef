"""POST /provider-users/registration."""

from __future__ import annotations

from typing import Any

from core.services.registration import RegistrationRequest, accept_registration
from handlers.bodies import license_facts
from handlers.context import PROCESSED, dependencies, origin


def register_provider(body: dict[str, Any]) -> tuple[dict[str, str], int, dict[str, str]]:
    """Register the provider; the same answer whatever was found."""
    request = RegistrationRequest(
        facts=license_facts(body),
        email=body["email"],
        recaptcha_token=body["token"],
        origin=origin(),
    )
    accept_registration(request, dependencies().registration, dependencies().background)
    return PROCESSED
