"""POST /provider-users/initiateRecovery and /provider-users/verifyRecovery."""

from __future__ import annotations

from typing import Any

from core.services import recovery
from handlers.bodies import license_facts
from handlers.context import PROCESSED, client_ip, dependencies


def initiate_recovery(body: dict[str, Any]) -> tuple[dict[str, str], int, dict[str, str]]:
    """Email a recovery link if the proofs hold; the same answer whatever happened."""
    request = recovery.InitiateRequest(
        facts=license_facts(body),
        username=body["username"],
        password=body["password"],
        recaptcha_token=body["recaptchaToken"],
        remote_ip=client_ip(),
    )
    recovery.accept_initiate(request, dependencies().recovery, dependencies().background)
    return PROCESSED


def verify_recovery(body: dict[str, Any]) -> tuple[dict[str, str], int, dict[str, str]]:
    """Use a recovery link: recreate the account and send a new invitation."""
    request = recovery.VerifyRequest(
        compact=body["compact"],
        provider_id=body["providerId"],
        recovery_token=body["recoveryToken"],
        recaptcha_token=body["recaptchaToken"],
        remote_ip=client_ip(),
    )
    recovery.verify_recovery(request, dependencies().recovery)
    return PROCESSED
