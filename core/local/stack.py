"""Start moto's server in-process, provision it, load demo data and describe it in stack.json."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.adapters.aws_clients import aws_client
from core.adapters.dynamo_table import DynamoTable
from core.adapters.licenses import DynamoLicenseStore
from core.adapters.providers import DynamoProviderStore
from core.config import Settings
from core.local.bootstrap import Provisioned, bootstrap
from core.local.moto_dynamodb import serialise_moto_dynamodb
from core.local.seed import load_licenses, read_licenses

log = logging.getLogger(__name__)
DEMO_LICENSES = Path(__file__).with_name("demo_licenses.csv")
STACK_FILE = Path(".local/stack.json")
# moto needs some credentials; these never leave the loopback interface.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass
class MotoStack:
    """A running moto server and the settings that point the service at it."""

    server: Any
    settings: Settings

    def stop(self) -> None:
        """Stop the moto server."""
        self.server.stop()


def start_moto_stack(settings: Settings, stack_file: Path = STACK_FILE) -> MotoStack:
    """Start moto on a free loopback port, bootstrap it, seed it, write stack_file."""
    from moto.server import ThreadedMotoServer  # the 'local' extra; not needed in AWS

    for name, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    # Make moto check TOTP codes for real, so the local journey proves MFA enrolment.
    os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = "true"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-call access lines
    serialise_moto_dynamodb()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    settings = settings.model_copy(update={"aws_endpoint_url": endpoint})
    provisioned = provision(settings)
    settings = settings.model_copy(update=provisioned.as_settings())
    seed_files = [DEMO_LICENSES] + ([settings.local_seed_file] if settings.local_seed_file else [])
    for path in seed_files:
        seed_file(settings, path)
    write_stack_file(stack_file, settings)
    return MotoStack(server=server, settings=settings)


def provision(settings: Settings) -> Provisioned:
    """Run bootstrap against the settings' endpoint."""
    return bootstrap(
        settings, aws_client(settings, "dynamodb"), aws_client(settings, "cognito-idp")
    )


def seed_file(settings: Settings, path: Path) -> int:
    """Load one license CSV into the provider table; nothing is written if a row is bad."""
    licenses = read_licenses(path)
    table = DynamoTable(aws_client(settings, "dynamodb"), settings.provider_table)
    count = load_licenses(licenses, DynamoLicenseStore(table), DynamoProviderStore(table))
    log.info("seeded %d license records from %s", count, path)
    return count


def write_stack_file(path: Path, settings: Settings) -> dict[str, Any]:
    """Describe the running stack so a frontend or a script can use the same one."""
    description = {
        "api_url": f"http://127.0.0.1:{settings.port}/v1",
        "endpoint_url": settings.aws_endpoint_url,
        "region": settings.aws_region,
        "user_pool_id": settings.user_pool_id,
        "user_pool_client_id": settings.user_pool_client_id,
        "provider_table": settings.provider_table,
        "rate_limit_table": settings.rate_limit_table,
        "outbox_dir": str(settings.outbox_dir.resolve()),
        "metrics_url": (
            f"http://127.0.0.1:{settings.metrics_port}/metrics" if settings.metrics_port else None
        ),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(description, indent=2) + "\n")
    return description
