"""Problem bodies the service answers with, written out whole, for tests to compare against."""

from __future__ import annotations

# Any exception the error table has no entry for: nothing of its message reaches the client.
UNEXPECTED = {
    "type": "about:blank",
    "title": "Internal Server Error",
    "status": 500,
    "detail": "An unexpected error occurred",
    "message": "An unexpected error occurred",
}
