"""Liveness."""

from __future__ import annotations

from typing import Any


def get_health() -> tuple[dict[str, Any], int, dict[str, str]]:
    """The process is up and serving; no dependency is checked here."""
    return {"status": "ok"}, 200, {"Content-Type": "application/json"}
