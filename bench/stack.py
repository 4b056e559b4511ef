"""What the benchmarks run against: a moto server, and uvicorn processes of the app on it.

moto runs in a child process of its own (`python -m bench.stack moto PORT`, on gunicorn with
keep-alive), so that its CPU time does not share the load generator's interpreter lock and
skew the client-side timings. It is provisioned and seeded with the demo licensees exactly as
`provider-accounts serve` does (core.local.stack.provision and seed_file).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx

from core.config import Settings
from core.local.stack import DEMO_LICENSES, provision, seed_file

ROOT = Path(__file__).resolve().parent.parent
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass(frozen=True)
class MotoStack:
    """The moto child process and the settings that point the service at it.

    With a read cache (bench/dynamodb_cache.py), the settings point at the cache in front of
    moto, and `cache_pid` is its process.
    """

    settings: Settings
    pid: int
    cache_pid: int | None = None


@contextmanager
def moto_stack(read_cache: bool = False) -> Iterator[MotoStack]:
    """A provisioned, seeded moto server in a child process, behind a read cache if asked."""
    for name, value in CREDENTIALS.items():
        os.environ.setdefault(name, value)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with _child(["bench.stack", "moto", str(port)], f"{endpoint}/moto-api/") as moto:
        settings = Settings(app_env="local", aws_endpoint_url=endpoint)
        settings = settings.model_copy(update=provision(settings).as_settings())
        seed_file(settings, DEMO_LICENSES)
        if not read_cache:
            yield MotoStack(settings, moto.pid)
            return
        cache_port = free_port()
        cache_url = f"http://127.0.0.1:{cache_port}"
        command = ["bench.dynamodb_cache", str(cache_port), str(port)]
        with _child(command, f"{cache_url}/__cache__/stats") as cache:
            cached = settings.model_copy(update={"aws_endpoint_url": cache_url})
            yield MotoStack(cached, moto.pid, cache.pid)


@contextmanager
def _child(module_and_arguments: list[str], ready_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m <module> <arguments>` of this repository, once `ready_url` answers."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", *module_and_arguments],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(ready_url, process)
        yield process
    finally:
        _stop(process)


def cache_stats(stack: MotoStack) -> dict[str, dict[str, int]]:
    """What the read cache received and forwarded to moto, by X-Amz-Target."""
    url = f"{stack.settings.aws_endpoint_url}/__cache__/stats"
    return httpx.get(url, timeout=10).json()  # type: ignore[no-any-return]


@dataclass
class AppServer:
    """One uvicorn process of an ASGI app."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_file: Path


def server_env(
    stack: MotoStack, workdir: Path, code: Path = ROOT, **settings: str
) -> dict[str, str]:
    """The environment of a server of the code in `code`; keyword arguments are settings."""
    aws = stack.settings
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(CREDENTIALS)
    env.update(
        {
            "PYTHONPATH": str(code),
            "APP_ENV": "local",
            "AWS_REGION": aws.aws_region,
            "AWS_ENDPOINT_URL": aws.aws_endpoint_url or "",
            "USER_POOL_ID": aws.user_pool_id or "",
            "USER_POOL_CLIENT_ID": aws.user_pool_client_id or "",
            "OUTBOX_DIR": str(workdir / "outbox"),
            "LOG_LEVEL": "INFO",
        }
    )
    env.update({name.upper(): value for name, value in settings.items()})
    return env


def _log_config(path: Path) -> Path:
    # As in production (core/logs.py): the service's INFO lines are written (here to a file);
    # wire logs are not, nor uvicorn's access line, which the service's request line replaces.
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": {"plain": {"format": LOG_FORMAT}},
                "handlers": {"out": {"class": "logging.StreamHandler", "formatter": "plain"}},
                "root": {"level": "INFO", "handlers": ["out"]},
                "loggers": {
                    "botocore": {"level": "INFO"},
                    "boto3": {"level": "INFO"},
                    "uvicorn.access": {"level": "WARNING"},
                },
            }
        )
    )
    return path


@contextmanager
def app_server(
    name: str, target: str, env: dict[str, str], workdir: Path, code: Path = ROOT
) -> Iterator[AppServer]:
    """`uvicorn <target>` of the code in `code` on a free loopback port (one worker process)."""
    port = free_port()
    log_config = _log_config(workdir / f"{name}-logging.json")
    command = ["uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-config", str(log_config), "--backlog", "4096"]
    with _serve(name, command, env, workdir, port, 30, code) as server:
        yield server


@contextmanager
def gunicorn_server(
    name: str, env: dict[str, str], workdir: Path, workers: int = 2
) -> Iterator[AppServer]:
    """The production command (gunicorn.conf.py, uvicorn workers) with WEB_CONCURRENCY workers."""
    port = free_port()
    env = {**env, "PORT": str(port), "WEB_CONCURRENCY": str(workers), "METRICS_PORT": "0"}
    command = ["gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    command += ["--backlog", "4096", "wsgi:app"]
    with _serve(name, command, env, workdir, port, 60) as server:
        yield server


@contextmanager
def _serve(
    name: str,
    command: list[str],
    env: dict[str, str],
    workdir: Path,
    port: int,
    timeout: float,
    code: Path = ROOT,
) -> Iterator[AppServer]:
    """`python -m <command>` with its output in workdir/<name>.log, until it answers /health."""
    log_file = workdir / f"{name}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", *command],
            cwd=code,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = AppServer(name, f"http://127.0.0.1:{port}/v1", process, log_file)
    try:
        _wait(f"{server.url}/health", process, timeout)
        yield server
    finally:
        _stop(process)


def registered_with_password(
    stack: MotoStack, api_url: str, registration: dict[str, str], password: str
) -> Any:
    """Register through the API, wait for its user, make `password` permanent; the idp client.

    Registration answers before its work is done: the user appears a moment later.
    """
    email = registration["email"]
    answer = httpx.post(f"{api_url}/provider-users/registration", json=registration, timeout=30)
    answer.raise_for_status()
    settings = stack.settings
    idp = boto3.client(
        "cognito-idp", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            idp.admin_get_user(UserPoolId=settings.user_pool_id, Username=email)
            break
        except idp.exceptions.UserNotFoundException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    idp.admin_set_user_password(
        UserPoolId=settings.user_pool_id, Username=email, Password=password, Permanent=True
    )
    return idp


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process and its live children have used (Linux /proc).

    Children count for gunicorn, whose workers do the work; uvicorn has none.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = children.read_text().split() if children.exists() else []
    return own + sum(cpu_seconds(int(kid)) for kid in kids if Path(f"/proc/{kid}").exists())


def workdir() -> Path:
    """A fresh temporary directory for logs and the outbox."""
    return Path(tempfile.mkdtemp(prefix="provider-accounts-bench-"))


def machine() -> dict[str, str]:
    """nproc, Python and CPU model, for the record."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": str(os.cpu_count()),
        "python": sys.version.split()[0],
        "cpu": model,
        "load average (1 min) at start": f"{os.getloadavg()[0]:.2f}",
    }


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A Markdown table on stdout."""
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _serve_moto(port: int) -> None:
    """moto's app on gunicorn's threaded worker: one process (moto keeps its state in memory).

    Not ThreadedMotoServer: werkzeug's server closes every connection after one answer, so
    each AWS call would pay a new TCP connection on both sides, which DynamoDB, keeping
    connections alive, does not make the service pay.
    """
    from gunicorn.app.base import BaseApplication
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from core.local.moto_dynamodb import serialise_moto_dynamodb

    serialise_moto_dynamodb()  # as in the embedded stack: one DynamoDB item call at a time

    class MotoOnGunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {"bind": f"127.0.0.1:{port}", "workers": 1, "worker_class": "gthread"}
            options |= {"threads": 8, "keepalive": 60, "loglevel": "warning"}
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            return DomainDispatcherApplication(create_backend_app)

    MotoOnGunicorn().run()


if __name__ == "__main__":
    if sys.argv[1:2] == ["moto"]:
        _serve_moto(int(sys.argv[2]))
