"""Schemathesis fuzzes every operation of the spec against the app (floors off, limits on)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from core.config import Settings
from tests.support.cognito import signed_in_id_token

SEED = 20261124

config = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": 100, "database": "none"},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        # 413 is how an oversized body is refused, before validation.
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": ["400", "401", "403", "404", "405", "413", "415", "429"]
            }
        },
        "operations": [
            {
                # The contract answers 400 for any recovery token that is not a live one, and
                # random tokens never are.
                "include-operation-id": "recovery.verify_recovery",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ["200", "400", "403", "429"]}
                },
            }
        ],
    }
)


@pytest.fixture
def contract_settings(settings: Settings) -> Settings:
    """Limits high enough that fuzzing reaches the handlers, yet still enforced."""
    return settings.model_copy(
        update={
            "registration_ip_limit": "10000 per minute",
            "initiate_recovery_ip_limit": "10000 per minute",
            "verify_recovery_ip_limit": "10000 per minute",
            "cancel_recovery_ip_limit": "10000 per minute",
        }
    )


@pytest.fixture
def contract_app(contract_settings: Settings, aws: Settings):  # noqa: ANN201
    """The Connexion app on moto, as a Schemathesis schema."""
    from handlers.app import create_app

    ready = aws.model_copy(
        update={
            k: getattr(contract_settings, k)
            for k in (
                "registration_ip_limit",
                "initiate_recovery_ip_limit",
                "verify_recovery_ip_limit",
                "cancel_recovery_ip_limit",
            )
        }
    )
    return create_app(ready)


schema = schemathesis.pytest.from_fixture("contract_schema")


@pytest.fixture
def id_token(contract_app, aws: Settings) -> str:  # noqa: ANN001
    """A real (moto) ID token of a registered provider, so /me is fuzzed past its auth."""
    return signed_in_id_token(contract_app, aws)


@pytest.fixture
def contract_schema(contract_app, id_token: str):  # noqa: ANN001, ANN201
    """The spec as served by the app itself, with a valid bearer token for secured operations."""
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", contract_app, config=config)
    schema.config.update(headers={"Authorization": f"Bearer {id_token}"})
    return schema


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_conforms(case) -> None:  # noqa: ANN001
    """Every generated request gets a documented status, content type and body shape."""
    case.call_and_validate()
