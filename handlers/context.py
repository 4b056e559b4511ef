"""Access to this app's services and the caller's address from inside a handler."""

from __future__ import annotations

import flask

from core import user_agents
from core.models import RequestOrigin
from core.wiring import Dependencies

EXTENSION_KEY = "provider_accounts"
PROCESSED = ({"message": "request processed"}, 200, {"Content-Type": "application/json"})


def dependencies() -> Dependencies:
    """The dependencies create_app wired for the current app."""
    return flask.current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def client_ip() -> str | None:
    """The caller's address, as uvicorn's trusted proxy handling resolved it."""
    return flask.request.remote_addr


def user_agent() -> str | None:
    """The raw User-Agent header: for Cognito's risk judgement only, never stored or shown."""
    return flask.request.headers.get("User-Agent")


def browser() -> str:
    """A short description of the caller's browser; never the raw User-Agent."""
    return user_agents.describe(user_agent())


def origin() -> RequestOrigin:
    """Where the request came from, for notices and the account history."""
    return RequestOrigin(client_ip(), browser())
