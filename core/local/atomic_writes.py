"""DynamoDB's atomic conditional writes, given to moto, whose backend checks and then writes.

DynamoDB evaluates a write's condition and applies the write as one step. moto's in-memory
backend checks the condition and then writes in plain Python, so two request threads can both
pass the check: two racers could both take a mail cap's slot or claim one record, which
DynamoDB never allows. Serialising moto's DynamoDB writes gives the embedded stack (and the
tests on moto) the guarantee the service relies on.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def make_dynamodb_writes_atomic(
    set_attribute: Callable[[Any, str, Any], None] = setattr,
) -> None:
    """Serialise moto's DynamoDB writes in this process (tests pass monkeypatch.setattr)."""
    from moto.dynamodb.models import DynamoDBBackend  # the 'local' extra; not needed in AWS

    lock = threading.RLock()
    for name in _WRITES:
        write = getattr(DynamoDBBackend, name)
        if not getattr(write, "serialised", False):  # once per process is enough
            set_attribute(DynamoDBBackend, name, _serialised(write, lock))


def _serialised(write: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return write(*args, **kwargs)

    locked.serialised = True  # type: ignore[attr-defined]
    return locked
