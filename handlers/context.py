"""Access to this app's services and the caller's address from inside a handler."""

from __future__ import annotations

import flask

from core.wiring import Dependencies

EXTENSION_KEY = "provider_accounts"
PROCESSED = ({"message": "request processed"}, 200, {"Content-Type": "application/json"})


def dependencies() -> Dependencies:
    """The dependencies create_app wired for the current app."""
    return flask.current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def client_ip() -> str | None:
    """The caller's address, as uvicorn's trusted proxy handling resolved it."""
    return flask.request.remote_addr
