"""moto's DynamoDB backend, one call at a time: DynamoDB's atomicity for the embedded stack.

DynamoDB evaluates a write's condition and applies the write as one step. moto's in-memory
backend checks the condition and then writes in plain Python, so two request threads can both
pass the check: two racers could both take a mail cap's slot or claim one record, which
DynamoDB never allows. Its reads are not safe beside its writes either: a GetItem of a missing
key adds an entry to the table's dict, and a Query on an index iterates that dict, so a read
and a write at once can fail with "dictionary changed size during iteration" (seen as a
RuntimeError in a background initiateRecovery of the in-process tests). Serialising the
backend's item calls gives the embedded stack, the bench's moto and the tests the guarantees
the service relies on.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_ITEM_CALLS = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "get_item",
    "query",
    "scan",
)


def serialise_moto_dynamodb(
    set_attribute: Callable[[Any, str, Any], None] = setattr,
) -> None:
    """Make moto's DynamoDB item calls one at a time in this process (tests pass monkeypatch)."""
    from moto.dynamodb.models import DynamoDBBackend  # the 'local' extra; not needed in AWS

    lock = threading.RLock()
    for name in _ITEM_CALLS:
        call = getattr(DynamoDBBackend, name)
        if not getattr(call, "serialised", False):  # once per process is enough
            set_attribute(DynamoDBBackend, name, _serialised(call, lock))


def _serialised(call: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(call)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return call(*args, **kwargs)

    locked.serialised = True  # type: ignore[attr-defined]
    return locked
