"""One table from error class to problem, and one RFC 9457 problem+json renderer.

Every error answer of the service, whichever layer meets the error (Connexion's exception
middleware, the Flask app inside it, or one of our raw ASGI middlewares), is built by
`problem_for` from an entry of ERRORS; the three layers differ only in how they send it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import flask
from connexion import FlaskApp
from connexion.exceptions import OAuthProblem, ProblemException
from connexion.http_facts import HTTP_STATUS_CODES
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.types import Send

from core import errors
from core.metrics import SERVER_ERRORS

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
UPSTREAM_RETRY_AFTER_SECONDS = 5
BEARER_CHALLENGE = 'Bearer realm="provider-accounts"'
UNEXPECTED_DETAIL = "An unexpected error occurred"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class BodyTooLarge(Exception):
    """The request body went past the size limit while it was being read."""


class LengthRequired(Exception):
    """A body sent in chunks without a Content-Length, which Connexion would read as absent."""


class UnsupportedMediaType(Exception):
    """The request body is not declared as exactly one application/json."""


def _no_headers(_error: BaseException) -> dict[str, str]:
    return {}


def _bearer_challenge(_error: BaseException) -> dict[str, str]:
    return {"WWW-Authenticate": BEARER_CHALLENGE}


def _own_headers(error: BaseException) -> dict[str, str]:
    """The headers an HTTP error carries itself (the Allow of a 405)."""
    return dict(getattr(error, "headers", None) or {})


def _retry_after(error: BaseException) -> dict[str, str]:
    return {"Retry-After": str(getattr(error, "retry_after", UPSTREAM_RETRY_AFTER_SECONDS))}


@dataclass(frozen=True)
class Entry:
    """How one class of error is answered.

    status None takes the exception's own status_code (Starlette's and Connexion's HTTP
    errors carry one); detail None takes the error's own client-safe message.
    """

    status: int | None
    detail: str | None = None
    headers: Callable[[BaseException], dict[str, str]] = field(default=_no_headers)


ERRORS: dict[type[BaseException], Entry] = {
    errors.InvalidRecoveryLink: Entry(400),
    errors.RecoveryNotYetUsable: Entry(400, headers=_retry_after),  # only the holder sees it
    errors.Unauthenticated: Entry(401, headers=_bearer_challenge),
    OAuthProblem: Entry(401, headers=_bearer_challenge),  # Connexion's own missing-token 401
    errors.RecaptchaFailed: Entry(403),
    errors.SessionPredatesRecovery: Entry(403),
    errors.NotFound: Entry(404),
    LengthRequired: Entry(411, "Send the request body with a Content-Length header"),
    BodyTooLarge: Entry(413, "The request body is larger than the limit"),
    UnsupportedMediaType: Entry(415, "The request body must be sent as application/json"),
    errors.RateLimited: Entry(429, headers=_retry_after),
    errors.UpstreamFailed: Entry(500),
    errors.UpstreamUnavailable: Entry(503, headers=_retry_after),
    errors.ServiceError: Entry(500),
    # Connexion's validation problems, routing's 404/405: their details are ours or generic.
    HTTPException: Entry(None, headers=_own_headers),
    Exception: Entry(500, UNEXPECTED_DETAIL),
}


@dataclass(frozen=True)
class Problem:
    """A rendered problem: status, headers (Content-Type included) and JSON body."""

    status: int
    headers: dict[str, str]
    body: bytes


def entry_for(error: BaseException) -> Entry:
    """The entry of the error's most specific class in the table."""
    return next(ERRORS[cls] for cls in type(error).__mro__ if cls in ERRORS)


def record(error: BaseException) -> int:
    """Log the error as its answer's status says (server errors counted too); that status."""
    entry = entry_for(error)
    status = entry.status or int(getattr(error, "status_code", 500))
    if status >= 500:
        SERVER_ERRORS.labels(type(error).__name__).inc()
        # A ServiceError's cause can quote an email address (aws_call already logged its
        # code); only an unexpected exception gets its traceback logged.
        traceback = error if entry.detail == UNEXPECTED_DETAIL else None
        log.error("request failed: %s", type(error).__name__, exc_info=traceback)
    else:
        log.info("client problem %d: %s", status, type(error).__name__)
    return status


def problem_for(error: BaseException) -> Problem:
    """The one problem+json rendering of any error; logs server errors, never client ones.

    `message` repeats `detail` for clients (CompactConnect's frontend) that read only that.
    """
    entry = entry_for(error)
    status = record(error)
    detail = entry.detail or _detail(error, status)
    body = {
        "type": "about:blank",
        "title": _title(error, status),
        "status": status,
        "detail": detail,
        "message": detail,
    }
    headers = {**entry.headers(error), "Content-Type": PROBLEM_JSON}
    return Problem(status, headers, json.dumps(body).encode())


def _title(error: BaseException, status: int) -> str:
    own = getattr(error, "title", None)  # Connexion's problems carry one
    return (
        TITLES.get(status)
        or (own if isinstance(own, str) else None)
        or (HTTP_STATUS_CODES.get(status, "Error"))
    )


def _detail(error: BaseException, status: int) -> str:
    if isinstance(error, errors.ServiceError):
        return error.message
    if status >= 500:  # a server-side HTTPException's detail could describe internals
        return UNEXPECTED_DETAIL
    detail = str(getattr(error, "detail", None) or _title(error, status))
    # A parameter's jsonschema error goes on to print the whole schema: keep its first paragraph.
    return detail.split("\n\n", 1)[0]


def connexion_response(_request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    """The problem as Connexion's exception middleware sends it."""
    problem = problem_for(error)
    return ConnexionResponse(
        status_code=problem.status,
        mimetype=PROBLEM_JSON,
        content_type=PROBLEM_JSON,
        body=problem.body,
        headers=problem.headers,
    )


def flask_response(error: BaseException) -> flask.Response:
    """The problem as a Flask view (or Flask error handler) returns it."""
    problem = problem_for(error)
    return flask.Response(problem.body, status=problem.status, headers=problem.headers)


async def send_problem(
    send: Send, error: BaseException, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """The problem sent straight from a raw ASGI middleware; the connection closes after it."""
    problem = problem_for(error)
    headers = [(name.lower().encode(), value.encode()) for name, value in problem.headers.items()]
    headers.extend(extra)
    headers += [
        (b"content-length", str(len(problem.body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": problem.body})


def register_error_handlers(app: FlaskApp) -> None:
    """Send every error (Connexion's own included) through the one table and renderer."""
    # ProblemException too: Connexion registers its own renderer for that class.
    for error_class in [*ERRORS, ProblemException]:
        app.add_error_handler(error_class, connexion_response)
