"""Liveness."""

from __future__ import annotations

from typing import Any


def get_health() -> tuple[dict[str, Any], int, dict[str, str]]:
    """The process is up and serving; no dependency is checked here.

    In the running app LivenessMiddleware answers GET /v1/health first, on the event loop;
    this stays the spec's operation target and gives the same answer.
    """
    return {"status": "ok"}, 200, {"Content-Type": "application/json"}
