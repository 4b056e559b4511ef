"""argon2id hashing of recovery tokens: only the hash is ever stored."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2TokenHasher:
    """Hashes and verifies secrets with argon2id; parameters default to the service's settings.

    The secrets are 256 random bits: a cheap hash (core/config.py says why no costly one).
    """

    def __init__(self, time_cost: int = 1, memory_cost_kib: int = 1024, parallelism: int = 1):
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism
        )

    def hash(self, secret: str) -> str:
        """An encoded argon2id hash with its own random salt."""
        if not isinstance(secret, str):  # argon2 would hash bytes or fail on anything else
            raise TypeError("only a string secret is hashed")
        return self._hasher.hash(secret)

    def verify(self, hashed: str, secret: str) -> bool:
        """Whether the secret matches; a corrupt hash or a non-string secret never does."""
        # A number that slipped past validation must fail like a wrong token, not with an
        # error that only a pending recovery (a stored hash) would reach.
        if not isinstance(secret, str) or not isinstance(hashed, str):
            return False
        try:
            return self._hasher.verify(hashed, secret)
        except (VerificationError, InvalidHashError):
            return False
