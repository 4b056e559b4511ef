"""Per-IP rate limits with flask-limiter, on the Flask app inside Connexion.

Each operation's limit is declared in the spec (`x-rate-limit-per-ip` names its setting).
Limits apply after Connexion's validation, so malformed requests do not count. The client
address is what uvicorn's trusted proxy handling put in the ASGI scope (FORWARDED_ALLOW_IPS).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import flask
from connexion import utils
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

from core import errors, log_context
from core.config import Settings
from core.outcomes import record_ip_limited
from handlers.errors import flask_response


def build_limiter(settings: Settings) -> Limiter | None:
    """The limiter, or None when IP_RATE_LIMITS=off."""
    if not settings.ip_limits_enabled:
        return None
    return Limiter(
        key_func=get_remote_address,
        storage_uri=settings.rate_limit_storage_uri,
        strategy="moving-window",
        # If a shared store (Redis) is down, keep limiting per instance rather than failing.
        in_memory_fallback_enabled=True,
    )


def limits_by_operation(settings: Settings, setting_by_operation: dict[str, str]) -> dict[str, str]:
    """operation → its limit ("3 per 15 minutes"), from the settings the spec names."""
    return {
        operation: getattr(settings, name.lower())
        for operation, name in setting_by_operation.items()
    }


def limited_function_resolver(
    limiter: Limiter | None, limits: dict[str, str]
) -> Callable[[str], Callable[..., Any]]:
    """Resolve an operation's handler, wrapped in its per-IP limit if it has one.

    Connexion registers views lazily, on the first request, so limits are attached where
    handlers are resolved rather than to Flask's view functions. Each handler is wrapped
    once, however often Connexion resolves it.
    """
    resolved: dict[str, Callable[..., Any]] = {}

    def resolve(name: str) -> Callable[..., Any]:
        if name not in resolved:
            function = utils.get_function_from_name(name)
            if limiter is not None and name in limits:
                function = limiter.limit(limits[name])(function)
            resolved[name] = function
        return resolved[name]

    return resolve


def attach_limiter(limiter: Limiter | None, flask_app: flask.Flask) -> None:
    """Bind the limiter to the Flask app and answer 429 as a problem with Retry-After."""
    if limiter is None:
        return
    limiter.init_app(flask_app)

    def too_many_requests(_error: RateLimitExceeded) -> flask.Response:
        operation = (log_context.operation.get() or "unknown").rsplit(".", 1)[-1]
        record_ip_limited(operation)  # CloudWatch's RateLimited filter counts its log line
        current = limiter.current_limit
        wait = math.ceil(current.reset_at - time.time()) if current else 60
        return flask_response(errors.RateLimited(retry_after=wait))

    # Connexion would turn the 429 into its own problem and drop Retry-After.
    flask_app.register_error_handler(429, too_many_requests)
