"""Test licensees. Their secrets and personal data must never appear in a log line."""

from __future__ import annotations

from pathlib import Path

LICENSES_CSV = Path(__file__).with_name("licenses.csv")

ALICE = {
    "providerId": "1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f",
    "compact": "aslp",
    "jurisdiction": "oh",
    "licenseType": "audiologist",
    "givenName": "Quillon",
    "familyName": "Vantreska",
    "dob": "1979-08-23",
    "partialSocial": "6183",
}
BOB = {
    "providerId": "2d8b4f6a-9c1e-4a3b-b5d7-4e6f8a0b2c4d",
    "compact": "octp",
    "jurisdiction": "co",
    "licenseType": "occupational therapist",
    "givenName": "Zephrine",
    "familyName": "Oduya-Marsh",
    "dob": "1991-02-11",
    "partialSocial": "9047",
}
# The 503 problem of a full queue or a full server: retry later.
BUSY = {
    "type": "about:blank",
    "title": "Service Unavailable",
    "status": 503,
    "detail": "The service is busy; please retry in a moment",
    "message": "The service is busy; please retry in a moment",
}

SECRETS_THAT_MUST_NOT_BE_LOGGED = [
    v
    for person in (ALICE, BOB)
    for k, v in person.items()
    if k not in ("providerId", "compact", "jurisdiction", "licenseType")
]


def registration_body(person: dict[str, str], email: str, token: str = "ok") -> dict[str, str]:
    """A registration request for a test licensee."""
    return {
        "givenName": person["givenName"],
        "familyName": person["familyName"],
        "email": email,
        "partialSocial": person["partialSocial"],
        "dob": person["dob"],
        "jurisdiction": person["jurisdiction"],
        "licenseType": person["licenseType"],
        "compact": person["compact"],
        "token": token,
    }


def initiate_body(
    person: dict[str, str], email: str, password: str, recaptcha: str = "ok"
) -> dict[str, str]:
    """An initiateRecovery request for a test licensee."""
    return {
        "username": email,
        "password": password,
        "compact": person["compact"],
        "jurisdiction": person["jurisdiction"],
        "givenName": person["givenName"],
        "familyName": person["familyName"],
        "dob": person["dob"],
        "partialSocial": person["partialSocial"],
        "licenseType": person["licenseType"],
        "recaptchaToken": recaptcha,
    }
