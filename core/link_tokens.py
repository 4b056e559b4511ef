"""Emailed link tokens: a public random id and a secret, one opaque `<id>.<secret>` string.

The id lets a request be matched to the stored token with a cheap constant-time compare
before any argon2 work, so guesses that do not carry the id cost the server nothing and
count against nothing the link's holder needs. Only an argon2id hash of the secret is
stored. Any link kind (recovery today; a "Not me" cancel link later) uses this scheme.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.ports import TokenHasher

ID_BYTES = 16  # 128 random bits: guessing an id is hopeless on its own
SECRET_BYTES = 32
SEPARATOR = "."
_PART = re.compile(r"[A-Za-z0-9_-]{16,128}")


@dataclass(frozen=True)
class LinkToken:
    """A token as issued or presented; str() is the wire form."""

    token_id: str
    secret: str

    def __str__(self) -> str:
        return f"{self.token_id}{SEPARATOR}{self.secret}"

    def __repr__(self) -> str:  # the secret must never reach a log through a repr
        return f"LinkToken(token_id={self.token_id!r})"


@dataclass(frozen=True)
class StoredLinkToken:
    """What is kept of an issued token: an argon2id hash of its secret, its expiry, its id.

    A record stored before ids existed has token_id "" and matches no presented token.
    """

    token_hash: str
    expires_at: datetime
    token_id: str = ""

    def has_id(self, presented: LinkToken) -> bool:
        """Whether the presented token names this one (constant time)."""
        return bool(self.token_id) and hmac.compare_digest(
            self.token_id.encode(), presented.token_id.encode()
        )

    def secret_matches(self, presented: LinkToken, hasher: TokenHasher) -> bool:
        """Whether the presented secret is this token's: the one argon2 computation."""
        return hasher.verify(self.token_hash, presented.secret)


def issue(hasher: TokenHasher, expires_at: datetime) -> tuple[LinkToken, StoredLinkToken]:
    """A fresh token for the link, and what to store of it."""
    token = LinkToken(secrets.token_urlsafe(ID_BYTES), secrets.token_urlsafe(SECRET_BYTES))
    return token, StoredLinkToken(hasher.hash(token.secret), expires_at, token.token_id)


def parse(text: object) -> LinkToken | None:
    """The token in a wire string, or None for anything malformed (old formats included)."""
    if not isinstance(text, str):
        return None
    token_id, separator, secret = text.partition(SEPARATOR)
    if not separator or not _PART.fullmatch(token_id) or not _PART.fullmatch(secret):
        return None
    return LinkToken(token_id, secret)
