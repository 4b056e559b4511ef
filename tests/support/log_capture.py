"""A pytest plugin that keeps every log record of the session for tests/test_logs_hold_no_secrets.

Load it from tests/conftest.py with `pytest_plugins = ["tests.support.log_capture"]`.

Under pytest-xdist each worker captures its own records. At the end of its session every worker
writes them, with the secrets it saw and the server logs its tests wrote, to a directory the
controller created; the log-secrets test, which xdist runs last on its worker, waits for the
other workers' files and checks them too, so one run still checks every line of every process.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.logs import cap_sdk_wire_logs
from tests.support.leaks import SEEN_SECRETS
from tests.support.server_logs import SERVER_LOG_FILES

LAST_MODULE = "test_logs_hold_no_secrets.py"
SHARED_DIR_KEY = "provider_accounts_log_dir"
# Long enough for the other worker to finish the longest xdist group it may still be running.
OTHER_WORKERS_WAIT_SECONDS = 600
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


@dataclass(frozen=True)
class WorkerLogs:
    """What another xdist worker captured: records, secrets seen, server logs written."""

    worker: str
    records: list[tuple[str, str]]
    secrets: list[str]
    server_logs: list[Path]


@dataclass(frozen=True)
class _Worker:
    """This process as an xdist worker: its id, how many workers run, where they share logs."""

    worker: str
    count: int
    directory: Path


_THIS_WORKER: list[_Worker] = []  # empty unless this process is an xdist worker


class _ShareDirectory:
    """On the xdist controller: one directory for the workers' captured logs, removed at exit."""

    def __init__(self) -> None:
        self.directory: Path | None = None

    def pytest_configure_node(self, node: Any) -> None:
        """Tell each worker where to write (an xdist hook, called before a worker starts)."""
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="provider-accounts-logs-"))
        node.workerinput[SHARED_DIR_KEY] = str(self.directory)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """The files hold the suite's test secrets: remove them with the run."""
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def other_workers_logs(timeout: float = OTHER_WORKERS_WAIT_SECONDS) -> list[WorkerLogs]:
    """What every other xdist worker captured, once each has finished; [] without xdist."""
    if not _THIS_WORKER:
        return []
    me = _THIS_WORKER[0]
    others = [f"gw{n}" for n in range(me.count) if f"gw{n}" != me.worker]
    deadline = time.monotonic() + timeout
    missing = others
    while missing:
        missing = [w for w in others if not (me.directory / f"{w}.json").exists()]
        if missing and time.monotonic() > deadline:
            raise TimeoutError(f"xdist workers {missing} wrote no captured logs in {timeout} s")
        if missing:
            time.sleep(0.5)
    return [_read_worker_logs(me.directory / f"{w}.json") for w in others]


def _read_worker_logs(path: Path) -> WorkerLogs:
    shared = json.loads(path.read_text())
    return WorkerLogs(
        worker=shared["worker"],
        records=[(name, text) for name, text in shared["records"]],
        secrets=list(shared["secrets"]),
        server_logs=[Path(p) for p in shared["server_logs"]],
    )


def _write_worker_logs(me: _Worker) -> None:
    """Write atomically: the reader takes a file's existence to mean it is complete."""
    shared = {
        "worker": me.worker,
        "records": HANDLER.records,
        "secrets": sorted(SEEN_SECRETS),
        "server_logs": [str(p) for p in SERVER_LOG_FILES],
    }
    partial = me.directory / f".{me.worker}.json.partial"
    partial.write_text(json.dumps(shared))
    os.replace(partial, me.directory / f"{me.worker}.json")


def pytest_configure(config: pytest.Config) -> None:
    """Listen from the start of the session; share logs across xdist workers if there are any."""
    _listen()
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and SHARED_DIR_KEY in workerinput:
        _THIS_WORKER[:] = [
            _Worker(
                workerinput["workerid"],
                int(workerinput["workercount"]),
                Path(workerinput[SHARED_DIR_KEY]),
            )
        ]
    elif workerinput is None and config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_ShareDirectory(), "provider-accounts-log-share")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand what this process captured to the log-secrets test."""
    if _THIS_WORKER:
        _write_worker_logs(_THIS_WORKER[0])


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
