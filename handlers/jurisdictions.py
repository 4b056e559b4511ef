"""GET /public/jurisdictions/live."""

from __future__ import annotations

from core.jurisdictions import live_in
from handlers.context import dependencies

# Public and the same for everyone: browsers and CDNs may keep it for five minutes.
CACHED_FOR_FIVE_MINUTES = {
    "Content-Type": "application/json",
    "Cache-Control": "public, max-age=300",
}


def get_live_jurisdictions(
    compact: str | None = None,
) -> tuple[dict[str, list[str]], int, dict[str, str]]:
    """The jurisdictions live for registration, per compact (or of one compact)."""
    return live_in(dependencies().live_jurisdictions, compact), 200, CACHED_FOR_FIVE_MINUTES
