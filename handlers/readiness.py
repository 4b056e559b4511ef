"""GET /ready."""

from __future__ import annotations

from typing import Any

from core.errors import UpstreamUnavailable
from handlers.context import dependencies


def get_ready() -> tuple[dict[str, Any], int, dict[str, str]]:
    """200 when the tables and the user pool are reachable; 503 naming what is not."""
    failing = dependencies().readiness.failing()
    if failing:
        raise UpstreamUnavailable(f"Not ready: {', '.join(failing)} unreachable")
    return {"status": "ready"}, 200, {"Content-Type": "application/json"}
