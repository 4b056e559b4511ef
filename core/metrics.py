"""Prometheus metrics. Labels are categories only: never an id, an email or a name."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
REQUEST_SECONDS = Histogram(
    "provider_accounts_request_duration_seconds",
    "Request latency by operation, with the response-time floor and without it",
    ["operation", "floor"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10),
)
