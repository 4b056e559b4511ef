"""Turning validated request bodies into the core's request objects."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.models import LicenseFacts


def license_facts(body: dict[str, Any]) -> LicenseFacts:
    """The license facts of a registration or recovery body (already validated by the spec)."""
    return LicenseFacts(
        compact=body["compact"],
        jurisdiction=body["jurisdiction"],
        given_name=body["givenName"],
        family_name=body["familyName"],
        date_of_birth=date.fromisoformat(body["dob"]),
        ssn_last_four=body["partialSocial"],
        license_type=body["licenseType"],
    )
