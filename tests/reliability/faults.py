"""One-shot failures injected into the app's botocore clients, before a call leaves them.

A `before-call` hook sees each call after its parameters were serialized and before anything
is sent. Raising there is what a caller sees once botocore's own retries are exhausted: a
throttling error, or an endpoint that cannot be reached. Nothing reaches AWS (moto), so the
call changed nothing, as with a real throttled or unreachable call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from botocore import handlers as botocore_handlers
from botocore.exceptions import ClientError, EndpointConnectionError


@dataclass(frozen=True)
class CallSite:
    """One AWS call of the service: its operation and a marker of its serialized parameters."""

    name: str
    operation: str
    marker: str | None = None

    def matches(self, operation: str, body: str) -> bool:
        """Whether a call about to be sent is this one."""
        return operation == self.operation and (self.marker is None or self.marker in body)


def throttling(operation: str, _endpoint: str) -> Exception:
    """What botocore raises when AWS keeps throttling past the retries."""
    return ClientError(
        {
            "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


def connection(_operation: str, endpoint: str) -> Exception:
    """What botocore raises when the endpoint cannot be reached."""
    return EndpointConnectionError(endpoint_url=endpoint)


FAULTS = {"ThrottlingException": throttling, "EndpointConnectionError": connection}


class FaultInjector:
    """Arms failures that each fire once, on the first call matching their call site.

    `install()` adds the hook to botocore's built-in handlers (as moto adds its own): every
    botocore session created from then on carries it, so the harness builds the app's clients
    from a session of their own created after `install()`. Clients created before (the test's
    own, for inspecting moto) never fail. `uninstall()` stops new sessions getting it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[tuple[CallSite, str]] = []
        self.fired: list[tuple[str, str]] = []
        self._entry = ("before-call", self._before_call)

    def install(self) -> None:
        """Hook every botocore session (and so every client) created from now on."""
        botocore_handlers.BUILTIN_HANDLERS.append(self._entry)

    def uninstall(self) -> None:
        """Leave sessions created from now on alone."""
        if self._entry in botocore_handlers.BUILTIN_HANDLERS:
            botocore_handlers.BUILTIN_HANDLERS.remove(self._entry)

    def arm(self, site: CallSite, fault: str) -> None:
        """Make the next call matching `site` fail with FAULTS[fault]."""
        if fault not in FAULTS:
            raise KeyError(fault)
        with self._lock:
            self._armed.append((site, fault))

    @property
    def pending(self) -> list[str]:
        """Call sites armed but not reached yet."""
        with self._lock:
            return [site.name for site, _ in self._armed]

    def _before_call(self, model: Any, params: dict[str, Any], **_kwargs: Any) -> None:
        body = params.get("body", b"")
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        with self._lock:
            for index, (site, fault) in enumerate(self._armed):
                if site.matches(model.name, text):
                    del self._armed[index]
                    self.fired.append((site.name, fault))
                    raise FAULTS[fault](model.name, params.get("url", ""))
