"""The baseline of bench/floor_burst.py: the floor as a `time.sleep` in the handler.

This is what a response-time floor usually looks like when first written: the view itself
sleeps until the floor has passed, holding its worker thread all that time. Serve it with
RESPONSE_FLOORS=off (the ASGI floor middleware stays out of the way):

    RESPONSE_FLOORS=off uvicorn bench.baseline_app:app

No production code is involved: the handler Connexion resolves for initiateRecovery is
replaced, in this module only, by a wrapper that sleeps.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import yaml

import handlers.recovery as recovery_handlers
from handlers.app import SPEC_DIR, SPEC_FILE, create_app
from handlers.spec_extensions import floors_from_spec

FLOOR_SECONDS = floors_from_spec(yaml.safe_load((SPEC_DIR / SPEC_FILE).read_text()))[
    "recovery.initiate_recovery"
]
_original = recovery_handlers.initiate_recovery


@functools.wraps(_original)
def initiate_recovery(body: dict[str, Any]) -> Any:
    """The real handler, then a blocking sleep until the floor has passed since it started."""
    started = time.monotonic()
    try:
        return _original(body)
    finally:
        time.sleep(max(0.0, FLOOR_SECONDS - (time.monotonic() - started)))


# Connexion's resolver looks the handler up by name when the app is built: it finds this one.
recovery_handlers.initiate_recovery = initiate_recovery
app = create_app()
