"""A signing key of our own, its JWKS, Cognito-shaped ID tokens, and a fake JWKS endpoint.

Besides well-formed tokens it builds the classic forgeries a verifier must refuse: an unsigned
`alg: none` token and an HS256 token keyed with the public key (algorithm confusion).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import PyJWK

from tests.support.leaks import remember

POOL_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1"
CLIENT_ID = "test-app-client-id"
# Claims that are dropped from a token when an override sets them to this value.
OMIT: Any = object()


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_json(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class SigningKey:
    """An RSA key with a kid: what a user pool signs its tokens with."""

    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or f"test-{uuid.uuid4().hex[:12]}"
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def jwk(self) -> dict[str, str]:
        """The public key as one JWKS entry, in Cognito's shape."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kid": self.kid,
            "kty": "RSA",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "alg": "RS256",
            "use": "sig",
        }

    @property
    def pyjwk(self) -> PyJWK:
        """The public key as PyJWT's verifier takes it."""
        return PyJWK(self.jwk)

    @property
    def public_pem(self) -> bytes:
        """The public key in PEM, as an attacker would download it."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def jwks(*keys: SigningKey) -> dict[str, list[dict[str, str]]]:
    """A JWKS document holding these keys."""
    return {"keys": [key.jwk for key in keys]}


class TokenMinter:
    """Mints ID tokens for one pool and app client, signed with `key` unless told otherwise."""

    def __init__(
        self,
        key: SigningKey,
        issuer: str = POOL_ISSUER,
        audience: str = CLIENT_ID,
    ) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = audience

    def claims(
        self,
        *,
        email: str,
        compact: str,
        provider_id: str,
        auth_time: int | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An ID token's payload, as Cognito issues it; override (or OMIT) any claim."""
        now = int(time.time())
        signed_in = now if auth_time is None else auth_time
        payload: dict[str, Any] = {
            "sub": str(uuid.uuid4()),
            "iss": self.issuer,
            "aud": self.audience,
            "token_use": "id",
            "auth_time": signed_in,
            "iat": max(now, signed_in),
            "exp": max(now, signed_in) + 3600,
            "cognito:username": email,
            "email": email,
            "custom:compact": compact,
            "custom:providerId": provider_id,
        }
        for claim, value in (overrides or {}).items():
            if value is OMIT:
                payload.pop(claim, None)
            else:
                payload[claim] = value
        return payload

    def id_token(
        self,
        *,
        key: SigningKey | None = None,
        kid: Any = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed RS256 ID token; `kid` overrides the header's kid (OMIT drops it)."""
        signer = key or self.key
        header: dict[str, Any] = {"kid": signer.kid if kid is None else kid, **(headers or {})}
        if header["kid"] is OMIT:
            del header["kid"]
        token = jwt.encode(self.claims(**claims), signer.private_key, "RS256", headers=header)
        return remember(token)

    def unsigned_token(self, **claims: Any) -> str:
        """The same claims with `alg: none` and an empty signature."""
        header = {"alg": "none", "typ": "JWT", "kid": self.key.kid}
        return f"{_b64url_json(header)}.{_b64url_json(self.claims(**claims))}."

    def hs256_confusion_token(self, **claims: Any) -> str:
        """The claims HMAC-signed with the public key's PEM bytes as the secret."""
        header = {"alg": "HS256", "typ": "JWT", "kid": self.key.kid}
        signing_input = f"{_b64url_json(header)}.{_b64url_json(self.claims(**claims))}"
        # PyJWT refuses a PEM as an HMAC secret, so the forgery is built by hand.
        mac = hmac.new(self.key.public_pem, signing_input.encode(), hashlib.sha256).digest()
        signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
        return f"{signing_input}.{signature}"


class FakeAnswer:
    """What requests returns: a status and a JSON body (or text that is not JSON)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self._body = body

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code} Server Error")

    def json(self) -> Any:
        if isinstance(self._body, str):
            raise requests.JSONDecodeError("Expecting value", self._body, 0)
        return self._body


class FakeJwksSession:
    """A requests session serving `document` and recording each GET; `error` fails the next."""

    def __init__(self, document: Any, status: int = 200) -> None:
        self.document = document
        self.status = status
        self.error: Exception | None = None
        self.gets: list[tuple[str, Any]] = []

    def get(self, url: str, timeout: Any = None) -> FakeAnswer:
        self.gets.append((url, timeout))
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return FakeAnswer(self.status, self.document)


class FakeMonotonic:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
