"""Secrets seen during the suite; tests/test_logs_hold_no_secrets.py checks no log holds one."""

from __future__ import annotations

SEEN_SECRETS: set[str] = set()


def remember(secret: str) -> str:
    """Record a runtime secret (temporary password, token, chosen password); returns it."""
    SEEN_SECRETS.add(secret)
    return secret
