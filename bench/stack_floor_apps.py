"""Two apps that only answer, for bench/stack_floor.py: what the service's stack costs alone.

Each serves `GET /v1/provider-users/me` with the profile in STACK_FLOOR_BODY (a JSON file: the
service's own /me answer), parsed once and serialised again on every request as a view's dict
is, and `GET /v1/health` for the bench's readiness check. No authentication, no AWS, no
middleware of the service.

- `flask_app`: a Flask view under a2wsgi's WSGIMiddleware (10 threads, the service's default).
- `connexion_app`: a Connexion FlaskApp with one operation each, Connexion's defaults but the
  same a2wsgi pool; the service's app is this plus its own middleware and code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from a2wsgi import WSGIMiddleware
from connexion import FlaskApp
from flask import Flask

WORKER_THREADS = 10
PROFILE: dict[str, Any] = json.loads(Path(os.environ["STACK_FLOOR_BODY"]).read_text())
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "stack floor", "version": "1"},
    "paths": {
        path: {
            "get": {
                "operationId": f"bench.stack_floor_apps.{name}",
                "responses": {
                    "200": {
                        "description": "the answer",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        }
        for path, name in (("/provider-users/me", "profile"), ("/health", "health"))
    },
}


def profile() -> dict[str, Any]:
    """The stored profile, as a view returns one."""
    return PROFILE


def health() -> dict[str, str]:
    """Enough for the bench to see the server is up."""
    return {"status": "ok"}


_flask = Flask(__name__)
_flask.add_url_rule("/v1/provider-users/me", view_func=profile)
_flask.add_url_rule("/v1/health", view_func=health)
flask_app = WSGIMiddleware(_flask.wsgi_app, workers=WORKER_THREADS)

connexion_app = FlaskApp(__name__)
connexion_app._middleware_app.asgi_app = WSGIMiddleware(  # noqa: SLF001 - as handlers/app.py
    connexion_app.app.wsgi_app, workers=WORKER_THREADS
)
connexion_app.add_api(SPEC, base_path="/v1")
