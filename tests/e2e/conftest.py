"""The real service as a subprocess (`python -m cli serve`) on its embedded moto stack."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests

from core.config import Settings
from tests.support.data import LICENSES_CSV
from tests.support.server_logs import SERVER_LOG_FILES

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 30
LOG_TAIL_LINES = 80


@dataclass(frozen=True)
class Server:
    """A running server process and what its .local/stack.json says about it."""

    process: subprocess.Popen[bytes]
    log_file: Path
    api_url: str
    endpoint_url: str
    region: str
    user_pool_id: str
    user_pool_client_id: str
    outbox_dir: Path
    metrics_url: str

    @property
    def origin(self) -> str:
        """The server's own origin: locally, emailed links open its reference pages."""
        return self.api_url.removesuffix("/v1")

    def cognito(self):  # noqa: ANN201 - a boto3 cognito-idp client
        """A client of the stack's Cognito, as a frontend would use it."""
        return boto3.client(
            "cognito-idp",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the server's stdout and stderr."""
        return log_tail(self.log_file, lines)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file, or a note that there is none."""
    if not path.exists():
        return f"(no log file at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment(port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without any service setting, plus the e2e ones and `extra`."""
    settings_names = {name.upper() for name in Settings.model_fields}
    env = {
        name: value
        for name, value in os.environ.items()
        if name.upper() not in settings_names and not name.upper().startswith("AWS_")
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "APP_ENV": "local",
            "PORT": str(port),
            "METRICS_PORT": str(free_port()),
            # The real floors: every timing assertion of the journey depends on them.
            "RESPONSE_FLOORS": "on",
            # The most verbose level, so the log-secrets test sees everything the service logs.
            "LOG_LEVEL": "DEBUG",
            "LOCAL_SEED_FILE": str(LICENSES_CSV),
            # Per-IP limits stay on, but the registration acceptance needs five registrations
            # from 127.0.0.1 (the default allows three per 15 minutes).
            "REGISTRATION_IP_LIMIT": "30 per 15 minutes",
        }
    )
    env.update(extra or {})
    return env


def start_server(workdir: Path, extra: dict[str, str] | None = None) -> Server:
    """Start `python -m cli serve` in workdir; return once stack.json exists and health answers."""
    port = free_port()
    log_file = workdir / "server.log"
    SERVER_LOG_FILES.append(log_file)
    with log_file.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "cli", "serve"],
            cwd=workdir,
            env=server_environment(port, extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stack_file = workdir / ".local" / "stack.json"
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log_tail(log_file)}")
        if stack_file.exists():
            server = _described(process, log_file, stack_file)
            if server is not None and _healthy(server.api_url):
                return server
        time.sleep(0.2)
    stop_server(process)
    pytest.fail(f"the server did not start in {STARTUP_TIMEOUT_SECONDS} s:\n{log_tail(log_file)}")


def _described(process: subprocess.Popen[bytes], log_file: Path, stack_file: Path) -> Server | None:
    try:
        stack = json.loads(stack_file.read_text())
    except ValueError:  # being written right now
        return None
    return Server(
        process=process,
        log_file=log_file,
        api_url=stack["api_url"],
        endpoint_url=stack["endpoint_url"],
        region=stack["region"],
        user_pool_id=stack["user_pool_id"],
        user_pool_client_id=stack["user_pool_client_id"],
        outbox_dir=Path(stack["outbox_dir"]),
        metrics_url=stack["metrics_url"],
    )


def _healthy(api_url: str) -> bool:
    try:
        answer = requests.get(f"{api_url}/health", timeout=2)
    except requests.ConnectionError:
        return False
    return answer.status_code == 200 and answer.json() == {"status": "ok"}


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down, then the moto stack stops); SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real server in a fresh working directory (its .local/ lands there)."""
    running = start_server(tmp_path_factory.mktemp("e2e-server"))
    try:
        yield running
    finally:
        stop_server(running.process)


@pytest.fixture(scope="module")
def compactconnect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real server set up for CompactConnect's frontend (its email link style)."""
    running = start_server(
        tmp_path_factory.mktemp("e2e-compactconnect"), {"EMAIL_LINK_STYLE": "compactconnect"}
    )
    try:
        yield running
    finally:
        stop_server(running.process)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ANN201
    """On a failure, show the tail of the server's log next to the traceback."""
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("server")
    if report.failed and isinstance(running, Server):
        report.sections.append(("server log (tail)", running.log_tail()))
