"""Logging set-up: JSON lines in AWS, readable text locally, request context on every line."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from core import log_context
from core.config import Settings, invalid_settings

# Fields that record_outcome and the request log pass with `extra=`; nothing else is copied.
EXTRA_FIELDS = (
    "outcome",
    "compact",
    "provider_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "work_ms",
)


class RequestContextFilter(logging.Filter):
    """Stamps each record with the current request id and operation."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record; only adds attributes."""
        record.request_id = log_context.request_id.get() or "-"
        if not getattr(record, "operation", None):
            record.operation = log_context.operation.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        event: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "operation": getattr(record, "operation", "-"),
        }
        for field in EXTRA_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                event[field] = value
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for the local stack, with the request context and any extra fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The line itself, with the request's fields and control characters escaped."""
        # A path holding %0A (a decoded newline) must not start a forged line of its own.
        # Tracebacks are appended after this, with their own newlines.
        line = escape_controls(super().formatMessage(record))
        extras = [
            f"{field}={escape_controls(str(getattr(record, field)))}"
            for field in ("method", "path", "status", "duration_ms")
            if getattr(record, field, None) is not None
        ]
        return f"{line} {' '.join(extras)}" if extras else line


_CONTROLS = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F]}
_CONTROLS.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def escape_controls(text: str) -> str:
    """Control characters written as escapes (\\n, \\x1b), so one record stays one line."""
    return text.translate(_CONTROLS)


HANDLER_NAME = "provider-accounts"


def configure_logging(settings: Settings) -> None:
    """Route every logger (uvicorn's and gunicorn's too) through one handler on stderr."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter() if settings.json_logs else TextFormatter())
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    # Replace only our own handler (configuring twice must not log twice); keep any other.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != HANDLER_NAME] + [handler]
    root.setLevel(settings.log_level.upper())
    logging.captureWarnings(True)  # a library's warning is a log line too, not bare stderr
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # The service's request line replaces uvicorn's access line (which has no request id).
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("flask-limiter").addFilter(drop_limit_breaches)
    cap_sdk_wire_logs(root.level)


def drop_limit_breaches(record: logging.LogRecord) -> bool:
    """flask-limiter logs each breach with its key, the client's IP address: not kept."""
    return not str(record.msg).startswith("ratelimit ")


# At DEBUG these dump every AWS request and response body: passwords checked with
# AdminInitiateAuth, temporary passwords of AdminCreateUser, license facts of DynamoDB queries.
SDK_WIRE_LOGGERS = ("botocore", "boto3", "urllib3")


def cap_sdk_wire_logs(level: int) -> None:
    """Keep the AWS SDK's loggers at WARNING or above, whatever LOG_LEVEL says."""
    for name in SDK_WIRE_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def settings_or_exit() -> Settings:
    """The settings, or one log line saying which is wrong and exit status 2.

    For the container's start: without settings there is no logging set-up yet, and pydantic's
    many-line traceback would reach CloudWatch as many lines, none of them JSON. The format
    follows what the settings would have chosen, read from the environment directly.
    """
    try:
        return Settings()  # type: ignore[call-arg]  # the fields come from the environment
    except ValidationError as error:
        message = invalid_settings(error)
        log_format = os.environ.get("LOG_FORMAT", "auto").lower()
        local = os.environ.get("APP_ENV", "local").lower() == "local"
        if log_format == "json" or (log_format == "auto" and not local):
            record = logging.makeLogRecord(
                {"name": "provider_accounts.settings", "levelname": "CRITICAL", "msg": message}
            )
            print(JsonFormatter().format(record), file=sys.stderr)
        else:
            print(f"provider-accounts: {message}", file=sys.stderr)
        raise SystemExit(2) from None
