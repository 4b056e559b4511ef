"""Fixtures of the reliability tests: the suite's moto stack with SES mail and no per-IP limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.config import Settings
from tests.reliability.harness import World, reliability_settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings, with mail through SES (an AWS call that can fail) and no IP limits."""
    return reliability_settings(settings)


@pytest.fixture
def world(aws: Settings) -> Iterator[World]:
    """The app on moto, with a movable clock and fault injection on its own AWS clients."""
    running = World(aws)
    try:
        yield running
    finally:
        running.close()
