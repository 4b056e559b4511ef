"""Per-IP rate limits with flask-limiter, on the Flask app inside Connexion.

Limits apply after Connexion's validation, so malformed requests do not count. The client
address is what uvicorn's trusted proxy handling put in the ASGI scope (FORWARDED_ALLOW_IPS).
"""

from __future__ import annotations

import math
import time

import flask
from connexion import FlaskApp
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

from core.config import Settings
from handlers.errors import problem_body

LIMIT_SETTING_BY_OPERATION = {
    "registration.register_provider": "registration_ip_limit",
    "recovery.initiate_recovery": "initiate_recovery_ip_limit",
    "recovery.verify_recovery": "verify_recovery_ip_limit",
}


def install_ip_limits(app: FlaskApp, settings: Settings) -> Limiter | None:
    """Attach the per-IP limits of LIMIT_SETTING_BY_OPERATION to their view functions."""
    if not settings.ip_limits_enabled:
        return None
    flask_app = app.app
    limiter = Limiter(
        key_func=get_remote_address,
        app=flask_app,
        storage_uri=settings.rate_limit_storage_uri,
        strategy="moving-window",
        # If a shared store (Redis) is down, keep limiting per instance rather than failing.
        in_memory_fallback_enabled=True,
    )
    for endpoint, view in list(flask_app.view_functions.items()):
        operation = _operation_of(endpoint)
        setting = LIMIT_SETTING_BY_OPERATION.get(operation or "")
        if setting:
            limit = limiter.limit(getattr(settings, setting), scope=operation)
            flask_app.view_functions[endpoint] = limit(view)

    def too_many_requests(_error: RateLimitExceeded) -> flask.Response:
        current = limiter.current_limit
        wait = math.ceil(current.reset_at - time.time()) if current else 60
        response = flask.jsonify(problem_body(429, "Too many requests; try again later"))
        response.status_code = 429
        response.headers["Content-Type"] = "application/problem+json"
        response.headers["Retry-After"] = str(max(1, wait))
        return response

    # Connexion would turn the 429 into its own problem and drop Retry-After.
    flask_app.register_error_handler(429, too_many_requests)
    return limiter


def _operation_of(endpoint: str) -> str | None:
    """The operationId in a Connexion endpoint name."""
    for operation in LIMIT_SETTING_BY_OPERATION:
        if endpoint.endswith(operation.replace(".", "_")):
            return operation
    return None
