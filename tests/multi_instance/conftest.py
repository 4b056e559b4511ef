"""Several real server processes on one moto server, sharing one real Redis for per-IP limits.

`provider-accounts serve` starts a moto stack of its own, so two of them would not share
Cognito or DynamoDB. Here the test process runs ONE ThreadedMotoServer, provisions and seeds
it, and starts `uvicorn wsgi:app` processes pointed at it, as a load balancer's targets would
be pointed at the same AWS account.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.config import Settings
from core.local.stack import provision, seed_file
from tests.support.data import LICENSES_CSV
from tests.support.server_logs import SERVER_LOG_FILES

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 30
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# The same line format as `provider-accounts serve`, so the log-secrets test can parse it.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    """Return once something accepts connections on the port; fail if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@dataclass
class RedisServer:
    """A throwaway redis-server on a fixed loopback port, without persistence."""

    port: int
    log_file: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """The limiter's storage URI."""
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it (again) on the same port and wait until it accepts connections."""
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not installed: run scripts/ensure-redis.sh (make test does)"
            )
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, 10, self.process)

    def stop(self) -> None:
        """Shut it down; its data is gone (nothing is saved)."""
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@dataclass
class AppServer:
    """One `uvicorn wsgi:app` process."""

    name: str
    port: int
    log_file: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://127.0.0.1:{self.port}/v1"

    def log(self) -> str:
        """Everything the process logged so far."""
        return self.log_file.read_text(errors="replace")


def server_environment(stack: Settings, redis_uri: str, outbox: Path) -> dict[str, str]:
    """The parent's environment without any service or AWS setting, plus this test's."""
    names = {name.upper() for name in Settings.model_fields}
    env = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in names and not key.upper().startswith("AWS_")
    }
    env.update(DUMMY_CREDENTIALS)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "APP_ENV": "local",
            "AWS_REGION": stack.aws_region,
            "AWS_ENDPOINT_URL": stack.aws_endpoint_url or "",
            "USER_POOL_ID": stack.user_pool_id or "",
            "USER_POOL_CLIENT_ID": stack.user_pool_client_id or "",
            "PROVIDER_TABLE": stack.provider_table,
            "RATE_LIMIT_TABLE": stack.rate_limit_table,
            "OUTBOX_DIR": str(outbox),
            "RESPONSE_FLOORS": "off",
            "IP_RATE_LIMITS": "on",
            "RATE_LIMIT_STORAGE_URI": redis_uri,
            "REGISTRATION_IP_LIMIT": "3 per 15 minutes",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST_KIB": "1024",
            "ARGON2_PARALLELISM": "1",
        }
    )
    return env


def write_log_config(path: Path) -> Path:
    """A uvicorn --log-config: every logger to stderr at INFO, the AWS SDK's wire logs capped.

    wsgi:app configures no logging itself (gunicorn.conf.py does not either), so without this
    the service's own records, the limiter's outage warning included, would go nowhere.
    """
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": LOG_FORMAT}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "botocore": {"level": "INFO"},
            "boto3": {"level": "INFO"},
            "uvicorn.access": {"level": "WARNING"},
        },
    }
    path.write_text(json.dumps(config, indent=2))
    return path


def start_app_server(name: str, workdir: Path, env: dict[str, str], log_config: Path) -> AppServer:
    """`uvicorn wsgi:app` in the repository root, trusting X-Forwarded-For from loopback."""
    port = free_port()
    log_file = workdir / f"server-{name}.log"
    SERVER_LOG_FILES.append(log_file)
    with log_file.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "uvicorn",
                "wsgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--proxy-headers",
                "--forwarded-allow-ips",
                "127.0.0.1",
                "--log-config",
                str(log_config),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = AppServer(name=name, port=port, log_file=log_file, process=process)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server {name} exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_process(process)
    pytest.fail(f"server {name} did not start in {STARTUP_TIMEOUT_SECONDS} s:\n{server.log()}")


@pytest.fixture(scope="module")
def moto_stack() -> Iterator[Settings]:
    """One moto server in this process, provisioned and seeded; settings pointing at it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-call access lines
    with pytest.MonkeyPatch.context() as patch:
        for key, value in DUMMY_CREDENTIALS.items():
            patch.setenv(key, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            settings = Settings(app_env="local", aws_endpoint_url=f"http://{host}:{port}")
            settings = settings.model_copy(update=provision(settings).as_settings())
            seed_file(settings, LICENSES_CSV)
            yield settings
        finally:
            server.stop()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port."""
    workdir = tmp_path_factory.mktemp("redis")
    redis = RedisServer(port=free_port(), log_file=workdir / "redis.log")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture(scope="module")
def instances(
    moto_stack: Settings, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AppServer, AppServer]]:
    """Two server processes, A and B, on the same moto and the same Redis."""
    workdir = tmp_path_factory.mktemp("multi-instance")
    env = server_environment(moto_stack, redis_server.uri, workdir / "outbox")
    log_config = write_log_config(workdir / "log-config.json")
    a = start_app_server("a", workdir, env, log_config)
    try:
        b = start_app_server("b", workdir, env, log_config)
    except BaseException:
        stop_process(a.process)
        raise
    try:
        yield a, b
    finally:
        stop_process(a.process)
        stop_process(b.process)
