"""The Dockerfile's own command, run here exactly as written, against a moto server.

The test reads CMD, ENV and HEALTHCHECK from the Dockerfile and runs them from the repository
root (the image's WORKDIR holds the same files), so it needs no Docker engine; test_image.py
runs the built image itself.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import boto3
import pytest
import requests

from core.config import Settings
from core.local.bootstrap import bootstrap
from core.local.stack import seed_file
from tests.support.data import ALICE, LICENSES_CSV, registration_body
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
SENDER = "no-reply@provider-accounts.test"


def dockerfile_instruction(name: str) -> str:
    """The (last) instruction `name`, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    assert lines, f"no {name} in the Dockerfile"
    return lines[-1][len(name) + 1 :].strip()


def dockerfile_env() -> dict[str, str]:
    """Every ENV key=value of the Dockerfile."""
    env: dict[str, str] = {}
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    for line in text.splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Siteverify(BaseHTTPRequestHandler):
    """A stand-in for Google's siteverify: accepts every token but 'fail'."""

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = int(self.headers.get("content-length", 0))
        accepted = b"response=fail" not in self.rfile.read(length)
        body = json.dumps({"success": accepted}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def siteverify() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Siteverify)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/siteverify"
    server.shutdown()


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "container-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "container-test")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # A server in this process shares moto's state with every other one: start from nothing.
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    yield endpoint
    server.stop()


@pytest.fixture
def aws_settings(moto_endpoint: str) -> Settings:
    """Tables, pool and client on the moto server, the test licensees seeded, SES verified."""
    settings = Settings(app_env="local", aws_endpoint_url=moto_endpoint, aws_region="us-east-1")
    session = boto3.session.Session(region_name=settings.aws_region)
    provisioned = bootstrap(
        settings,
        session.client("dynamodb", endpoint_url=moto_endpoint),
        session.client("cognito-idp", endpoint_url=moto_endpoint),
    )
    ready = settings.model_copy(update=provisioned.as_settings())
    seed_file(ready, LICENSES_CSV)
    session.client("ses", endpoint_url=moto_endpoint).verify_email_identity(EmailAddress=SENDER)
    return ready


def aws_mode_settings(aws_settings: Settings, siteverify: str, port: int) -> dict[str, str]:
    """The service's environment in aws mode, pointed at the moto server and siteverify."""
    return {
        "PORT": str(port),
        "AWS_ENDPOINT_URL": aws_settings.aws_endpoint_url or "",
        "AWS_REGION": aws_settings.aws_region,
        "PROVIDER_TABLE": aws_settings.provider_table,
        "RATE_LIMIT_TABLE": aws_settings.rate_limit_table,
        "USER_POOL_ID": aws_settings.user_pool_id or "",
        "USER_POOL_CLIENT_ID": aws_settings.user_pool_client_id or "",
        "RECAPTCHA_SECRET": "container-test-secret",
        "RECAPTCHA_VERIFY_URL": siteverify,
        "MAIL_FROM": SENDER,
        "UI_BASE_URL": "https://app.example.test",
        "WEB_CONCURRENCY": "2",
    }


def test_the_dockerfile_runs_a_slim_non_root_image_with_a_healthcheck():
    assert dockerfile_instruction("FROM") == "${BASE_IMAGE}"
    assert dockerfile_instruction("ARG") == "BASE_IMAGE=python:3.11-slim"
    user = dockerfile_instruction("USER")
    assert user not in ("root", "0")
    assert dockerfile_instruction("HEALTHCHECK").startswith("--")
    assert json.loads(dockerfile_instruction("CMD"))[0] == "gunicorn"


def test_the_container_command_serves_the_api_in_aws_mode(aws_settings, siteverify, tmp_path):
    # Given the Dockerfile's environment, pointed at the moto server instead of AWS
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        **dockerfile_env(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **aws_mode_settings(aws_settings, siteverify, port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "METRICS_PORT": str(metrics_port),
    }
    assert env["APP_ENV"] == "aws"
    (tmp_path / "metrics").mkdir()
    command = json.loads(dockerfile_instruction("CMD"))
    log_path = tmp_path / "container.log"

    # When the image's command runs
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)  # noqa: S603
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, process, log_path)

        # Then health, readiness, Swagger UI and a registration work through it
        assert requests.get(f"{base}/v1/health", timeout=5).json() == {"status": "ok"}
        assert requests.get(f"{base}/v1/ready", timeout=5).json() == {"status": "ready"}
        ui = requests.get(f"{base}/v1/ui/", timeout=5)
        assert ui.status_code == 200
        assert "swagger-ui" in ui.text
        answer = requests.post(
            f"{base}/v1/provider-users/registration",
            json=registration_body(ALICE, "alice@example.com"),
            timeout=10,
        )
        assert answer.status_code == 200
        assert answer.json() == {"message": "request processed"}
        assert answer.elapsed.total_seconds() >= 2.0  # the floor is on in the image
        # The answer does not wait for the work: its outcome is counted when the work is done
        registered = (
            'provider_accounts_attempts_total{operation="registration",outcome="registered"}'
        )
        wait_until(lambda: registered in scrape(metrics_port), "the registered outcome counted")
        assert requests.get(f"{base}/metrics", timeout=5).status_code == 404
        idp = boto3.client(
            "cognito-idp",
            region_name=aws_settings.aws_region,
            endpoint_url=aws_settings.aws_endpoint_url,
        )
        user = idp.admin_get_user(
            UserPoolId=aws_settings.user_pool_id, Username="alice@example.com"
        )
        assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
        ses = boto3.client(
            "ses", region_name=aws_settings.aws_region, endpoint_url=aws_settings.aws_endpoint_url
        )
        assert ses.get_send_quota()["SentLast24Hours"] == 1

        # And the image's HEALTHCHECK command passes against it
        healthcheck = dockerfile_instruction("HEALTHCHECK")
        probe = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
        assert probe[0] == "python"
        result = subprocess.run(  # noqa: S603
            [sys.executable, *probe[1:]], env=env, timeout=10, check=False
        )
        assert result.returncode == 0
    finally:
        process.terminate()
        process.wait(timeout=20)
    # And every line it wrote is JSON, as in AWS: gunicorn's own, start-up warnings included
    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert any(r.get("event") == "request completed" for r in records)
    assert any("Booting worker" in r.get("event", "") for r in records)
    assert any("LIVE_JURISDICTIONS is not set" in r.get("event", "") for r in records)


def wait_until_healthy(base: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the container command exited:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(f"{base}/v1/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still starting its workers
            time.sleep(0.2)
    pytest.fail(f"the container command never became healthy:\n{log_path.read_text()[-3000:]}")


def test_the_container_command_refuses_bad_settings_in_one_json_line(tmp_path):
    # Given the Dockerfile's environment without the pool, the app client or reCAPTCHA's secret
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "APP_ENV")},
        **dockerfile_env(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PORT": str(free_port()),
    }
    for name in ("USER_POOL_ID", "USER_POOL_CLIENT_ID", "RECAPTCHA_SECRET"):
        env.pop(name, None)
    command = json.loads(dockerfile_instruction("CMD"))

    # When the image's command runs
    done = subprocess.run(  # noqa: S603
        command, cwd=ROOT, env=env, capture_output=True, timeout=60, check=False
    )

    # Then it stops at once with one JSON line naming what is missing, no traceback
    assert done.returncode == 2
    [line] = done.stderr.decode().splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"]) == ("CRITICAL", "provider_accounts.settings")
    assert record["event"] == (
        "invalid settings: settings: Value error, APP_ENV=aws requires RECAPTCHA_SECRET, "
        "USER_POOL_ID, USER_POOL_CLIENT_ID to be set in the environment"
    )
    assert done.stdout == b""


def scrape(metrics_port: int) -> str:
    """The metrics the gunicorn master serves on its own port."""
    return requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
