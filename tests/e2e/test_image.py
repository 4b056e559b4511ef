"""The built image, run as a container: a whole journey through its port, against moto.

`scripts/build-image.sh` builds it (on a base made from Debian packages unless BASE_IMAGE names
another, e.g. python:3.11-slim); the container runs in aws mode with SES (no outbox), pointed
at a moto server and a siteverify stand-in on this host. Where no Docker engine can start, the
test is skipped with the reason; a failing build fails it.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests

from core.config import Settings
from tests.e2e.test_container_command import (  # noqa: F401 - fixtures used by name
    aws_mode_settings,
    aws_settings,
    free_port,
    moto_endpoint,
    siteverify,
)
from tests.support.data import ALICE, initiate_body, registration_body
from tests.support.leaks import remember
from tests.support.mail import Mail, sent_by_ses
from tests.support.server_logs import SERVER_LOG_FILES
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "provider-accounts:e2e"
OFFICIAL_BASE = "python:3.11-slim"
SIZE_LIMIT_MB = 250
EMAIL = "image.journey@example.com"
PASSWORD = remember("Image-Journey-Password-1!")
PROCESSED = {"message": "request processed"}


@dataclass(frozen=True)
class Built:
    """The image and what its build reported."""

    name: str
    base: str
    build_line: str
    size_mb: float


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI; never raises on a non-zero exit."""
    return subprocess.run(  # noqa: S603 - fixed program, our arguments
        ["docker", *args],  # noqa: S607 - the engine's CLI from PATH
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def image() -> Built:
    """The image, built now (layers cached between runs); skipped where Docker cannot run."""
    engine = subprocess.run(  # noqa: S603
        ["bash", str(ROOT / "scripts" / "ensure-docker.sh")],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if engine.returncode != 0:
        pytest.skip(f"no Docker engine can run here: {engine.stderr.strip()}")
    build = subprocess.run(  # noqa: S603
        ["bash", str(ROOT / "scripts" / "build-image.sh")],  # noqa: S607
        env={**os.environ, "IMAGE": IMAGE},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert build.returncode == 0, f"the image did not build:\n{build.stdout}\n{build.stderr}"
    size = int(docker("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    base = os.environ.get("BASE_IMAGE", "provider-accounts-base:bookworm (Debian packages)")
    return Built(IMAGE, base, build.stdout.strip().splitlines()[-1], size / 1_000_000)


@pytest.fixture
def container(
    image: Built,
    aws_settings: Settings,  # noqa: F811
    siteverify: str,  # noqa: F811
    tmp_path: Path,
) -> Iterator[str]:
    """The image running in aws mode on the host's network; yields its base URL."""
    log_dir = tmp_path
    port = free_port()
    name = f"provider-accounts-e2e-{uuid.uuid4().hex[:8]}"
    settings = {
        **aws_mode_settings(aws_settings, siteverify, port),
        "METRICS_PORT": str(free_port()),
        "AWS_ACCESS_KEY_ID": "container-test",
        "AWS_SECRET_ACCESS_KEY": "container-test",
    }
    options = [f"--env={key}={value}" for key, value in settings.items()]
    started = docker(
        "run", "--detach", "--name", name, "--network", "host", "--health-interval", "2s",
        *options, image.name,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(name, base)
        yield base
    finally:
        # The container's log joins the servers' logs that the log-secrets test reads last.
        logs = docker("logs", name)
        log_file = log_dir / "container.log"
        log_file.write_text(logs.stdout + logs.stderr)
        SERVER_LOG_FILES.append(log_file)
        docker("rm", "--force", name)


def wait_until_healthy(name: str, base: str) -> None:
    """Until the image's own HEALTHCHECK says healthy and the API answers."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)
        if not state["Running"]:
            logs = docker("logs", name)
            pytest.fail(f"the container exited:\n{(logs.stdout + logs.stderr)[-3000:]}")
        if state.get("Health", {}).get("Status") == "healthy":
            return
        time.sleep(0.5)
    logs = docker("logs", name)
    pytest.fail(f"the container never became healthy at {base}:\n{logs.stdout[-3000:]}")


def mail_to(address: str, settings: Settings) -> list[Mail]:
    """What the container sent to `address` through the moto server's SES."""
    return [m for m in sent_by_ses(settings.aws_region) if m.to == address]


def test_the_image_serves_register_recover_verify_through_its_port(
    container: str,
    aws_settings: Settings,  # noqa: F811
) -> None:
    # Given the container is ready (tables and pool reachable through the moto server)
    assert requests.get(f"{container}/v1/ready", timeout=5).json() == {"status": "ready"}
    idp = boto3.client(
        "cognito-idp",
        region_name=aws_settings.aws_region,
        endpoint_url=aws_settings.aws_endpoint_url,
    )

    # When a provider registers through it
    answer = requests.post(
        f"{container}/v1/provider-users/registration",
        json=registration_body(ALICE, EMAIL),
        timeout=15,
    )
    # Then the answer is the generic one, her user awaits first sign-in and SES sent the invite
    # (the answer does not wait for the work, whose last step is the email)
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    wait_until(lambda: mail_to(EMAIL, aws_settings), "the invitation sent")
    user = idp.admin_get_user(UserPoolId=aws_settings.user_pool_id, Username=EMAIL)
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert [m.subject for m in mail_to(EMAIL, aws_settings)] == ["Your provider account"]

    # When she, having set her password, loses her MFA device and asks to recover
    idp.admin_set_user_password(
        UserPoolId=aws_settings.user_pool_id, Username=EMAIL, Password=PASSWORD, Permanent=True
    )
    answer = requests.post(
        f"{container}/v1/provider-users/initiateRecovery",
        json=initiate_body(ALICE, EMAIL, PASSWORD),
        timeout=15,
    )
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    wait_until(lambda: len(mail_to(EMAIL, aws_settings)) == 2, "the recovery link sent")
    link = mail_to(EMAIL, aws_settings)[-1]
    assert link.subject == "Confirm account recovery"

    # And follows the emailed link
    answer = requests.post(
        f"{container}/v1/provider-users/verifyRecovery",
        json={**link.recovery_params, "recaptchaToken": "ok"},
        timeout=15,
    )

    # Then her account is recovered: a new user awaiting first sign-in, and a new invitation
    assert (answer.status_code, answer.json()) == (200, PROCESSED)
    user = idp.admin_get_user(UserPoolId=aws_settings.user_pool_id, Username=EMAIL)
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert [m.subject for m in mail_to(EMAIL, aws_settings)] == [
        "Your provider account",
        "Confirm account recovery",
        "Your provider account was recovered",
        "Was it you? Your provider account was recovered",
    ]
    # And the link works only once
    again = requests.post(
        f"{container}/v1/provider-users/verifyRecovery",
        json={**link.recovery_params, "recaptchaToken": "ok"},
        timeout=15,
    )
    assert again.status_code == 400


def test_the_image_runs_as_non_root_without_test_or_local_stack_packages(
    image: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the built image
    # When its user and installed packages are read from inside it
    user = docker("run", "--rm", "--entrypoint", "id", image.name, "-u")
    probe = (
        "import importlib.util as u; print(sorted(m for m in "
        "('moto', 'pytest', 'schemathesis', 'aws_cdk', 'cfnlint', 'pyotp', 'ruff', 'mypy') "
        "if u.find_spec(m)))"
    )
    modules = docker("run", "--rm", "--entrypoint", "python", image.name, "-c", probe)

    # Then it runs as the unprivileged app user and holds none of them
    assert (user.returncode, user.stdout.strip()) == (0, "10001")
    assert (modules.returncode, modules.stdout.strip()) == (0, "[]"), modules.stderr
    # And its size is reported (and held under the limit on the official slim base)
    with capsys.disabled():
        print(f"\n[image] {image.build_line} (base: {image.base})")
    if image.base == OFFICIAL_BASE:
        assert image.size_mb < SIZE_LIMIT_MB
