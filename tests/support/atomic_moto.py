"""DynamoDB's atomic conditional writes, given to in-process moto for tests with threads."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import pytest
from moto.dynamodb.models import DynamoDBBackend

# DynamoDB evaluates a write's condition and applies the write as one step. moto checks the
# condition and then writes in plain Python, so two threads can both pass the check: without
# this, a race test would fail on moto's race, not the service's.
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def make_moto_writes_atomic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serialise moto's DynamoDB writes for the rest of the test, as DynamoDB applies them."""
    lock = threading.RLock()
    for name in _WRITES:
        monkeypatch.setattr(
            DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name), lock)
        )


def _serialised(write: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return write(*args, **kwargs)

    return locked
