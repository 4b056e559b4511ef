"""AWS clients from one boto3 session per process, built on demand, never at import time."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from core.adapters.dynamo_json import DynamoJsonClient
from core.config import Settings

# Fail fast rather than pile up: one AWS call waits at most 2 × (2 + 4) s. A recovery makes
# five calls after claiming its token (global sign-out, delete, create, email, the completing
# write): at worst about 65 s, well within the 120 s claim lease (CLAIM_LEASE_SECONDS).
# The adapters build every request themselves, so botocore's client-side check of each one
# against the service model is pure per-call CPU; AWS still rejects a malformed request.
AWS_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=4,
    # botocore's "max_attempts" counts retries (it made three attempts); this counts them all.
    retries={"mode": "standard", "total_max_attempts": 2},
    parameter_validation=False,
)
# Readiness answers fast or not at all: one try, one second.
PROBE_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 1})

# A session loads each service model once and caches it; a fresh session per client paid that
# again for every client of every app. Clients are thread-safe, a session is not: creating
# clients is serialised by the lock, using them is not.
_lock = threading.Lock()
_session: boto3.session.Session | None = None


def shared_session() -> boto3.session.Session:
    """The process's one boto3 session, created on first use."""
    global _session  # noqa: PLW0603 - the process-wide session is the point
    with _lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session


def aws_client(
    settings: Settings,
    service: str,
    config: Config = AWS_CLIENT_CONFIG,
    session: boto3.session.Session | None = None,
) -> Any:
    """A low-level client (thread-safe) for the configured region and endpoint."""
    session = session or shared_session()
    with _lock:
        return session.client(
            service,  # type: ignore[call-overload]
            region_name=settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
            config=config,
        )


def dynamodb_json_client(
    dynamodb: Any, session: boto3.session.Session | None = None
) -> DynamoJsonClient:
    """Direct JSON calls over a botocore DynamoDB client's endpoint, config and hooks."""
    return DynamoJsonClient(dynamodb, (session or shared_session()).get_credentials())
