"""Schemathesis, deeper than tests/contract: ~1,000 examples per operation and the stateful phase.

Same app and checks as tests/contract/test_openapi_conformance.py (floors off, per-IP limits on
but high enough for fuzzing to reach the handlers, a real moto ID token for /me), with more
examples and random sequences of calls. Seeded, so a failure reproduces.

    DEEP_FUZZ=1 .venv/bin/pytest tests/fuzz -q     # what `make fuzz` runs
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck

from core.config import Settings
from tests.support.cognito import signed_in_id_token

SEED = 20261125
EXAMPLES_PER_OPERATION = 1000
STATEFUL_SCENARIOS = 300
STATEFUL_STEPS = 8
HIGH_LIMITS = {
    "registration_ip_limit": "100000 per minute",
    "initiate_recovery_ip_limit": "100000 per minute",
    "verify_recovery_ip_limit": "100000 per minute",
}

config = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "database": "none"},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": True},
        },
        "checks": {
            # A body over MAX_BODY_BYTES is refused with 413 before validation: a rejection too.
            "negative_data_rejection": {
                "expected-statuses": [
                    *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422"),
                    *("428", "429", "5xx"),
                ]
            }
        },
        "operations": [
            {
                # Random recovery tokens are never live ones (400), and the local stand-in
                # rejects the reCAPTCHA token "fail" (403): both are the contract's answers.
                "include-operation-id": "recovery.verify_recovery",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ["200", "400", "403", "429"]}
                },
            }
        ],
    }
)


@pytest.fixture
def fuzz_app(aws: Settings):  # noqa: ANN201 - the Connexion app
    """The Connexion app on moto, limits on but high."""
    from handlers.app import create_app

    return create_app(aws.model_copy(update=HIGH_LIMITS))


@pytest.fixture
def id_token(fuzz_app, aws: Settings) -> str:  # noqa: ANN001
    """A real (moto) ID token of a registered provider, so /me is fuzzed past its auth."""
    return signed_in_id_token(fuzz_app, aws)


@pytest.fixture
def fuzz_schema(fuzz_app, id_token: str):  # noqa: ANN001, ANN201
    """The spec as the app serves it, with a valid bearer token for secured operations."""
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", fuzz_app, config=config)
    schema.config.update(headers={"Authorization": f"Bearer {id_token}"})
    return schema


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@hypothesis.settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_conforms_deeply(case) -> None:  # noqa: ANN001
    """~1,000 generated requests per operation: documented status, content type and shape."""
    case.call_and_validate()


def test_random_sequences_of_calls_conform(fuzz_schema) -> None:  # noqa: ANN001
    """The stateful phase: scenarios of several calls in a row, each answer checked.

    `as_state_machine().run(settings=...)` is what `as_state_machine().TestCase` runs; the
    schema comes from a fixture here (moto must be running), so the TestCase cannot be built
    at import time.
    """
    machine = fuzz_schema.as_state_machine()
    machine.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
    )
