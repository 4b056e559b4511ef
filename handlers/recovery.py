"""POST /provider-users/initiateRecovery, /verifyRecovery and /cancelRecovery ("Not me")."""

from __future__ import annotations

from typing import Any

from core.services import not_me, recovery
from handlers.bodies import license_facts
from handlers.context import PROCESSED, browser, client_ip, dependencies, origin, user_agent


def initiate_recovery(body: dict[str, Any]) -> tuple[dict[str, str], int, dict[str, str]]:
    """Email a recovery link if the proofs hold; the same answer whatever happened."""
    request = recovery.InitiateRequest(
        facts=license_facts(body),
        username=body["username"],
        password=body["password"],
        recaptcha_token=body["recaptchaToken"],
        remote_ip=client_ip(),
        browser=browser(),
        user_agent=user_agent(),
        user_context_data=body.get("userContextData"),
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
        browser=browser(),
    )
    recovery.verify_recovery(request, dependencies().recovery)
    return PROCESSED


def cancel_recovery(body: dict[str, Any]) -> tuple[dict[str, str], int, dict[str, str]]:
    """Use a "Not me" link; the same answer whatever happened (the owner is told by email)."""
    request = not_me.CancelRequest(
        compact=body["compact"],
        provider_id=body["providerId"],
        cancel_token=body["cancelToken"],
        recaptcha_token=body["recaptchaToken"],
        origin=origin(),
    )
    not_me.accept_cancel(request, dependencies().recovery, dependencies().background)
    return PROCESSED
