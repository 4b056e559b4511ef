"""Prometheus metrics. Labels are categories only: never an id, an email or a name."""

from __future__ import annotations

import logging

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    multiprocess,
    start_http_server,
)

ATTEMPTS = Counter(
    "provider_accounts_attempts",
    "Registration and recovery attempts by operation and outcome category",
    ["operation", "outcome"],
)
RATE_LIMITED = Counter(
    "provider_accounts_rate_limited",
    "Requests refused or ignored by a rate limit, by limit",
    ["limit"],
)
AWS_ERRORS = Counter(
    "provider_accounts_aws_errors",
    "Failed AWS calls by service, operation and error code",
    ["service", "operation", "error"],
)
SERVER_ERRORS = Counter(
    "provider_accounts_server_errors",
    "Error answers with a 5xx status, by error class",
    ["error"],
)
BACKGROUND_WORK = Counter(
    "provider_accounts_background_work",
    "Work handed to the bounded executor, by operation and result "
    "(queued, done, failed, rejected: the queue was full and the caller got 503)",
    ["operation", "result"],
)
MAIL_SUPPRESSED = Counter(
    "provider_accounts_mail_suppressed",
    "Mail not sent because its recipient (or license and address) reached its cap, by kind",
    ["kind"],
)
REQUEST_SECONDS = Histogram(
    "provider_accounts_request_duration_seconds",
    "Request latency by operation, with the response-time floor and without it",
    ["operation", "floor"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10),
)

log = logging.getLogger(__name__)


def start_metrics_server(port: int, host: str, multiprocess_dir: str | None) -> None:
    """Serve /metrics on its own port, away from the public API and its load balancer.

    The outcome counters and the latency without floors are exactly what the API hides from
    callers, so they never share its port. Under gunicorn the master serves the sum of every
    worker's files in PROMETHEUS_MULTIPROC_DIR.
    """
    if not port:
        return
    registry = REGISTRY
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
    try:
        start_http_server(port, addr=host, registry=registry)
    except OSError as error:  # e.g. a second local server on the same machine
        raise SystemExit(
            f"METRICS_PORT {port} on {host} cannot be used ({error.strerror}): set METRICS_PORT "
            "to a free port, or to 0 to serve no metrics"
        ) from None
    log.info("metrics served at http://%s:%d/metrics", host, port)
