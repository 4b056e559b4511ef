"""The user pool's signing keys: fetched over HTTPS, cached, refetched on an unknown kid."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from core.errors import UpstreamUnavailable

log = logging.getLogger(__name__)


class JwksCache:
    """Keys by kid, refreshed after `ttl_seconds`, or early when a token names an unknown kid.

    Early refreshes are spaced by `min_refetch_seconds`, so tokens with made-up kids cannot
    turn every request into a fetch.
    """

    def __init__(
        self,
        url: str,
        ttl_seconds: int = 3600,
        min_refetch_seconds: int = 30,
        session: Any | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._ttl = ttl_seconds
        self._min_refetch = min_refetch_seconds
        self._session = session or requests.Session()
        self._now = monotonic
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None

    def key(self, kid: str) -> PyJWK | None:
        """The key with this kid, fetching the set if it is stale or lacks the kid."""
        with self._lock:
            now = self._now()
            stale = self._fetched_at is None or now - self._fetched_at >= self._ttl
            may_refetch = self._fetched_at is None or now - self._fetched_at >= self._min_refetch
            if stale or (kid not in self._keys and may_refetch):
                self._keys = self._fetch()
                self._fetched_at = now
            return self._keys.get(kid)

    def forget(self) -> None:
        """Drop the cached keys: the next lookup fetches the set again."""
        with self._lock:
            self._keys, self._fetched_at = {}, None

    def _fetch(self) -> dict[str, PyJWK]:
        try:
            answer = self._session.get(self._url, timeout=5)
            answer.raise_for_status()
            document = answer.json()
            if not isinstance(document, dict):
                raise ValueError("the JWKS is not a JSON object")
        except (requests.RequestException, ValueError) as error:
            log.warning("could not fetch the JWKS error=%s", type(error).__name__)
            raise UpstreamUnavailable() from error
        keys: dict[str, PyJWK] = {}
        for jwk in document.get("keys", []):
            # PyJWK raises InvalidKeyError (not a PyJWKError) for a missing kty or modulus.
            try:
                if not isinstance(jwk, dict):
                    raise TypeError("a JWK is not a JSON object")
                keys[jwk["kid"]] = PyJWK(jwk)
            except (KeyError, TypeError, PyJWTError):
                log.warning("ignoring an unusable key in the JWKS")
        return keys
