"""Log lines: JSON in AWS, with the request context and the outcome fields."""

from __future__ import annotations

import json
import logging

from core import log_context
from core.logs import JsonFormatter, RequestContextFilter, TextFormatter


def record(message: str, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord(
        "provider_accounts.outcomes", logging.INFO, "x.py", 1, message, None, None
    )
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


def test_a_json_line_carries_the_request_id_operation_and_outcome() -> None:
    token = log_context.request_id.set("req-42")
    try:
        entry = record(
            "registration outcome=registered",
            outcome="registered",
            compact="aslp",
            provider_id="p-1",
            operation="registration",
        )
        RequestContextFilter().filter(entry)
    finally:
        log_context.request_id.reset(token)

    line = json.loads(JsonFormatter().format(entry))

    assert line["request_id"] == "req-42"
    assert line["operation"] == "registration"
    assert (line["outcome"], line["compact"], line["provider_id"]) == ("registered", "aslp", "p-1")
    assert line["event"] == "registration outcome=registered"
    assert line["level"] == "INFO"
    assert line["time"].endswith("+00:00")


def test_outside_a_request_the_context_is_a_dash() -> None:
    entry = record("started")
    RequestContextFilter().filter(entry)

    line = json.loads(JsonFormatter().format(entry))

    assert (line["request_id"], line["operation"]) == ("-", "-")


def test_the_text_line_shows_the_request_id_and_the_request_fields() -> None:
    token = log_context.request_id.set("req-7")
    try:
        entry = record(
            "request completed", method="GET", path="/v1/health", status=200, duration_ms=1.5
        )
        RequestContextFilter().filter(entry)
    finally:
        log_context.request_id.reset(token)

    line = TextFormatter().format(entry)

    assert "[req-7] provider_accounts.outcomes: request completed" in line
    assert line.endswith("method=GET path=/v1/health status=200 duration_ms=1.5")


def test_a_text_line_cannot_be_split_by_control_characters_in_the_path() -> None:
    # Given a request whose path held %0A and %0D (uvicorn decodes them) and an escape code
    entry = record(
        "request completed",
        method="GET",
        path="/v1/x\r\n2026-11-25 INFO [-] forged: admin signed in\x1b[2J",
        status=404,
        duration_ms=1.0,
    )
    RequestContextFilter().filter(entry)

    # When it is written as text
    line = TextFormatter().format(entry)

    # Then it stays one line, the characters written as escapes
    assert line.splitlines() == [line]
    assert line.endswith(
        "path=/v1/x\\r\\n2026-11-25 INFO [-] forged: admin signed in\\x1b[2J status=404 "
        "duration_ms=1.0"
    )


def test_a_text_line_keeps_the_traceback_on_lines_of_its_own() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        entry = record("failed\nforged")
        entry.exc_info = sys.exc_info()
    RequestContextFilter().filter(entry)

    lines = TextFormatter().format(entry).splitlines()

    assert lines[0].endswith("failed\\nforged")
    assert lines[-1] == "RuntimeError: boom"
