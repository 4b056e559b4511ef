"""One table from error to status, and one RFC 9457 problem+json renderer."""

from __future__ import annotations

import logging
from typing import Any

from connexion import FlaskApp
from connexion.exceptions import OAuthProblem, ProblemException
from connexion.http_facts import HTTP_STATUS_CODES
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.problem import problem
from starlette.exceptions import HTTPException

from core import errors

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[errors.ServiceError], int] = {
    errors.InvalidRecoveryLink: 400,
    errors.Unauthenticated: 401,
    errors.RecaptchaFailed: 403,
    errors.NotFound: 404,
    errors.RateLimited: 429,
    errors.UpstreamFailed: 500,
    errors.UpstreamUnavailable: 503,
}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
UPSTREAM_RETRY_AFTER_SECONDS = 5
BEARER_CHALLENGE = 'Bearer realm="provider-accounts"'


class BodyTooLarge(Exception):
    """The request body went past the size limit while it was being read."""


def render(
    status: int, detail: str, headers: dict[str, str] | None = None, title: str | None = None
) -> ConnexionResponse:
    """A problem+json response; `message` repeats `detail` for clients that read only that."""
    return problem(
        status=status,
        title=title or TITLES.get(status) or HTTP_STATUS_CODES.get(status, "Error"),
        detail=detail,
        headers=headers,
        ext={"message": detail},
    )


def _service_error(_request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    assert isinstance(error, errors.ServiceError)  # noqa: S101 - registered for this class only
    status = next((code for cls, code in STATUS_BY_ERROR.items() if isinstance(error, cls)), 500)
    headers: dict[str, str] = {}
    if isinstance(error, errors.Unauthenticated):
        headers["WWW-Authenticate"] = BEARER_CHALLENGE
    elif isinstance(error, errors.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, errors.UpstreamUnavailable):
        headers["Retry-After"] = str(UPSTREAM_RETRY_AFTER_SECONDS)
    if status >= 500:
        # The cause's text can quote an email address: aws_call already logged its code.
        log.error("request failed: %s", type(error).__name__)
    return render(status, error.message, headers)


def _unauthorized(_request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    detail = getattr(error, "detail", None) or "Authentication required"
    return render(401, str(detail), {"WWW-Authenticate": BEARER_CHALLENGE})


def _http_problem(_request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    # Connexion's own problems (validation, routing, content type) and Starlette's HTTP errors,
    # rendered like ours so every problem body has the same members.
    assert isinstance(error, HTTPException)  # noqa: S101 - registered for this class only
    title = getattr(error, "title", None)
    detail = str(error.detail or title or HTTP_STATUS_CODES.get(error.status_code, "Error"))
    # A parameter's jsonschema error goes on to print the whole schema: keep its first paragraph.
    detail = detail.split("\n\n", 1)[0]
    log.info("client problem %d: %s", error.status_code, type(error).__name__)
    return render(error.status_code, detail, dict(error.headers or {}), title)


def _body_too_large(_request: ConnexionRequest, _error: Exception) -> ConnexionResponse:
    return render(413, "The request body is larger than the limit")


def _unexpected(_request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    # The body says nothing about internals; the log has the traceback.
    log.error("unexpected error: %s", type(error).__name__, exc_info=error)
    return render(500, "An unexpected error occurred")


def register_error_handlers(app: FlaskApp) -> None:
    """Map every error the core raises (and any other exception) to a problem response."""
    app.add_error_handler(errors.ServiceError, _service_error)
    app.add_error_handler(OAuthProblem, _unauthorized)  # Connexion's own 401s
    app.add_error_handler(ProblemException, _http_problem)
    app.add_error_handler(HTTPException, _http_problem)
    app.add_error_handler(BodyTooLarge, _body_too_large)
    app.add_error_handler(Exception, _unexpected)


def problem_body(status: int, detail: str) -> dict[str, Any]:
    """The JSON body of a problem, for responses built outside Connexion."""
    return {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "message": detail,
    }
