"""Verification of Cognito ID tokens: signature, issuer, audience, use and expiry."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import jwt
from jwt import PyJWK

from core.errors import Unauthenticated

ALGORITHMS = ["RS256"]
# A frontend sends the same ID token with every call until it expires. Remembering tokens
# already verified spares each repeat an RSA verification and a thread hop. A remembered token
# is trusted for at most this long, so a key withdrawn from the pool's JWKS stops working
# within this time even for tokens it verified before, and never past the token's expiry.
REMEMBER_SECONDS = 300
REMEMBERED_TOKENS = 1024


class KeySource(Protocol):
    def key(self, kid: str) -> PyJWK | None: ...

    def forget(self) -> None:
        """Drop whatever keys the source cached."""


@dataclass(frozen=True)
class IdentityClaims:
    """What the service uses from a verified ID token."""

    username: str
    email: str | None
    compact: str
    provider_id: str
    auth_time: datetime


class IdTokenVerifier:
    """Accepts only RS256 ID tokens of one pool and app client."""

    def __init__(
        self,
        keys: KeySource,
        issuer: str,
        audience: str,
        leeway_seconds: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._clock = clock
        self._remembered: OrderedDict[str, tuple[IdentityClaims, float]] = OrderedDict()
        self._lock = threading.Lock()

    def remembered(self, token: str) -> IdentityClaims | None:
        """The claims of this very token if it verified lately and is still valid, else None."""
        with self._lock:
            entry = self._remembered.get(token)
            if entry is None:
                return None
            identity, until = entry
            if self._clock() >= until:
                del self._remembered[token]
                return None
            self._remembered.move_to_end(token)
            return identity

    def verify(self, token: str) -> IdentityClaims:
        """The token's claims; Unauthenticated for any defect, with one message for all."""
        identity = self.remembered(token)
        if identity is None:
            identity, expires = self._verify(token)
            self._remember(token, identity, expires)
        return identity

    def forget(self) -> None:
        """Forget every remembered token and the key source's cached keys (an app starts over)."""
        with self._lock:
            self._remembered.clear()
        self._keys.forget()

    def _remember(self, token: str, identity: IdentityClaims, expires: float) -> None:
        until = min(expires + self._leeway, self._clock() + REMEMBER_SECONDS)
        with self._lock:
            self._remembered[token] = (identity, until)
            self._remembered.move_to_end(token)
            while len(self._remembered) > REMEMBERED_TOKENS:
                self._remembered.popitem(last=False)

    def _verify(self, token: str) -> tuple[IdentityClaims, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("The token is not valid") from None
        # Checked before any key lookup: 'none' and HMAC tokens never reach the verifier.
        if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
            raise Unauthenticated("The token is not valid")
        key = self._keys.key(header["kid"])
        if key is None:
            raise Unauthenticated("The token is not valid")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "token_use", "auth_time"]},
            )
        except jwt.PyJWTError:
            raise Unauthenticated("The token is not valid") from None
        return _identity(claims), float(claims["exp"])


def _identity(claims: dict[str, Any]) -> IdentityClaims:
    compact, provider_id = claims.get("custom:compact"), claims.get("custom:providerId")
    username = claims.get("cognito:username")
    if claims.get("token_use") != "id" or not (compact and provider_id and username):
        raise Unauthenticated("The token is not valid")
    try:
        auth_time = datetime.fromtimestamp(int(claims["auth_time"]), UTC)
    except (TypeError, ValueError, OverflowError):
        raise Unauthenticated("The token is not valid") from None
    return IdentityClaims(
        username=str(username),
        email=claims.get("email"),
        compact=str(compact),
        provider_id=str(provider_id),
        auth_time=auth_time,
    )
