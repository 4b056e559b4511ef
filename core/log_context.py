"""Per-request context for log lines: the request id and the operation being served."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
operation: ContextVar[str | None] = ContextVar("operation", default=None)
