"""A pytest plugin that keeps every log record of the session for tests/test_logs_hold_no_secrets.

Load it from tests/conftest.py with `pytest_plugins = ["tests.support.log_capture"]`.
"""

from __future__ import annotations

import logging

import pytest

from core.logs import cap_sdk_wire_logs

LAST_MODULE = "test_logs_hold_no_secrets.py"
FORMAT = "%(levelname)s %(name)s %(message)s"
# Attributes every LogRecord has; anything else came in through `extra=` and is logged too by
# structured formatters, so it is captured as well.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))
) | {"message", "asctime", "taskName"}


class CapturingHandler(logging.Handler):
    """Keeps (logger name, formatted record with its traceback and extras) of every record."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter(FORMAT))
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Format the record as a log file would show it, plus any `extra` fields."""
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a broken record must still be checked
            text = f"{record.levelname} {record.name} {record.msg!r} {record.args!r}"
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES}
        if extras:
            text = f"{text} extra={extras!r}"
        self.records.append((record.name, text))


HANDLER = CapturingHandler()


def captured_records() -> list[tuple[str, str]]:
    """Everything captured so far: (logger name, text)."""
    return list(HANDLER.records)


def is_listening() -> bool:
    """Whether the plugin is loaded and DEBUG records of the root logger reach the handler."""
    root = logging.getLogger()
    return HANDLER in root.handlers and root.getEffectiveLevel() <= logging.DEBUG


def _listen() -> None:
    """Attach the handler to the root logger and let DEBUG records reach it."""
    root = logging.getLogger()
    if HANDLER not in root.handlers:
        root.addHandler(HANDLER)
    root.setLevel(logging.DEBUG)
    logging.disable(logging.NOTSET)
    # The service's logging policy: the AWS SDK never logs wire bodies (see core/logs.py).
    cap_sdk_wire_logs(logging.DEBUG)


def pytest_configure(config: pytest.Config) -> None:
    """Listen from the start of the session."""
    _listen()


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Listen again after pytest's logging plugin has set itself up."""
    _listen()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Undo whatever an earlier test left behind (a raised root level, a removed handler)."""
    _listen()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """The log-secrets test runs after every other test, so it sees all their logs."""
    items.sort(key=lambda item: item.path.name == LAST_MODULE)
