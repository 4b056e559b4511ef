"""Schemathesis fuzzes every operation of the spec against the app (floors off, limits on)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from core.config import Settings

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
        "operations": [
            {
                # The contract answers 400 for any recovery token that is not a live one, and
                # random tokens never are.
                "include-operation-id": "recovery.verify_recovery",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ["200", "400", "429"]}
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
            )
        }
    )
    return create_app(ready)


schema = schemathesis.pytest.from_fixture("contract_schema")


@pytest.fixture
def contract_schema(contract_app):  # noqa: ANN001, ANN201
    """The spec as served by the app itself."""
    return schemathesis.openapi.from_asgi("/v1/openapi.json", contract_app, config=config)


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_conforms(case) -> None:  # noqa: ANN001
    """Every generated request gets a documented status, content type and body shape."""
    case.call_and_validate()
