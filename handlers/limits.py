"""Per-IP rate limits with flask-limiter, on the Flask app inside Connexion.

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

from core import log_context
from core.config import Settings
from core.metrics import RATE_LIMITED
from handlers.errors import problem_body

# Handler function → the setting holding its per-IP limit.
LIMIT_SETTING_BY_HANDLER = {
    "handlers.registration.register_provider": "registration_ip_limit",
    "handlers.recovery.initiate_recovery": "initiate_recovery_ip_limit",
    "handlers.recovery.verify_recovery": "verify_recovery_ip_limit",
}


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


def limited_function_resolver(
    limiter: Limiter | None, settings: Settings
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
            setting = LIMIT_SETTING_BY_HANDLER.get(name)
            if limiter is not None and setting is not None:
                function = limiter.limit(getattr(settings, setting))(function)
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
        RATE_LIMITED.labels(f"ip_{operation}").inc()
        current = limiter.current_limit
        wait = math.ceil(current.reset_at - time.time()) if current else 60
        response = flask.jsonify(problem_body(429, "Too many requests; try again later"))
        response.status_code = 429
        response.headers["Content-Type"] = "application/problem+json"
        response.headers["Retry-After"] = str(max(1, wait))
        return response

    # Connexion would turn the 429 into its own problem and drop Retry-After.
    flask_app.register_error_handler(429, too_many_requests)
