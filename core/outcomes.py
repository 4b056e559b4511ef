"""One INFO line per attempt with its outcome category; ids only, never personal data."""

from __future__ import annotations

import logging

from core.metrics import ATTEMPTS, RATE_LIMITED

log = logging.getLogger("provider_accounts.outcomes")


def record_outcome(
    operation: str,
    outcome: str,
    compact: str | None = None,
    provider_id: str | None = None,
    level: int = logging.INFO,
) -> None:
    """Log the outcome of one attempt at an operation, and count it."""
    ATTEMPTS.labels(operation, outcome).inc()
    if outcome == "rate_limited":
        RATE_LIMITED.labels(f"provider_{operation}").inc()
    log.log(
        level,
        "%s outcome=%s compact=%s providerId=%s",
        operation,
        outcome,
        compact or "-",
        provider_id or "-",
        extra={
            "operation": operation,
            "outcome": outcome,
            "compact": compact,
            "provider_id": provider_id,
        },
    )


def record_ip_limited(operation: str) -> None:
    """Log and count a request refused by its per-IP limit (never the address itself)."""
    RATE_LIMITED.labels(f"ip_{operation}").inc()
    log.info(
        "%s outcome=rate_limited limit=ip",
        operation,
        extra={"operation": operation, "outcome": "rate_limited"},
    )
