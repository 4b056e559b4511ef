"""The deep fuzz runs only when asked (`make fuzz` sets DEEP_FUZZ=1): it takes minutes."""

from __future__ import annotations

import os

import pytest

ENABLED = os.environ.get("DEEP_FUZZ") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip this folder's tests unless DEEP_FUZZ=1."""
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="deep fuzzing: run with DEEP_FUZZ=1 (make fuzz)")
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(skip)
