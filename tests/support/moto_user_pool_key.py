"""moto's user pools, each with the one signing key moto ships, parsed once per test process.

moto gives every user pool it creates the same packaged RSA key, and parses and checks that
key again for each pool: ~0.1 s of CPU, paid by every test that provisions its own AWS. The
key object only signs tokens, so every pool of the process can share it.
"""

from __future__ import annotations

import json
from typing import Any

import moto.cognitoidp.models as moto_cognito
import pytest


class _KeyParsedOnce:
    """Stands in for joserfc's `jwk` module inside moto's Cognito models."""

    def __init__(self, jwk: Any) -> None:
        self._jwk = jwk
        self._keys: dict[str, Any] = {}

    @property
    def RSAKey(self) -> _KeyParsedOnce:  # noqa: N802 - the attribute moto reads
        return self

    def import_key(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        """The parsed key for this JSON key set, parsed on its first use."""
        if args or kwargs or not isinstance(value, dict):
            return self._jwk.RSAKey.import_key(value, *args, **kwargs)
        text = json.dumps(value, sort_keys=True)
        if text not in self._keys:
            self._keys[text] = self._jwk.RSAKey.import_key(value)
        return self._keys[text]


def parse_user_pool_key_once(patch: pytest.MonkeyPatch) -> None:
    """From now on, moto's new user pools share the key parsed for the first."""
    patch.setattr(moto_cognito, "jwk", _KeyParsedOnce(moto_cognito.jwk))
