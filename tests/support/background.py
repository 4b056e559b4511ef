"""Test clients that see the effects of background work deterministically, without sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from handlers.context import EXTENSION_KEY

DRAIN_SECONDS = 120  # a wait, not a timing check: generous for a loaded machine


def drain(app: Any) -> None:
    """Wait until the app's background work (registration, initiateRecovery) has finished."""
    executor = app.app.extensions[EXTENSION_KEY].background
    assert executor.wait_idle(DRAIN_SECONDS), "background work did not finish in time"


@contextmanager
def draining_client(app: Any) -> Iterator[Any]:
    """A test client that, after every answer, waits for the work the request queued.

    Registration and initiateRecovery answer before their work is done; with this client a
    test asserts on mail and stored state as soon as the answer arrives.
    """
    with app.test_client() as client:
        yield attach_drain(client, app)


def attach_drain(client: Any, app: Any) -> Any:
    """Make a test client of `app` wait for the app's background work after every answer."""
    client.event_hooks = {"request": [], "response": [lambda _response: drain(app)]}
    return client
