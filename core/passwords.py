"""Temporary passwords that always satisfy the user pool's password policy."""

from __future__ import annotations

import secrets
import string

# Cognito accepts these symbols in passwords; the set avoids characters that mail clients or
# copy-paste commonly mangle (quotes, backslash, whitespace).
SYMBOLS = "^$*.[]{}()?!@#%&/,><:;|_~`=+-"
_CLASSES = (string.ascii_uppercase, string.ascii_lowercase, string.digits, SYMBOLS)


def generate_temporary_password(length: int = 20) -> str:
    """A random password with at least one upper, lower, digit and symbol."""
    if length < len(_CLASSES) or length < 12:
        raise ValueError("temporary passwords are at least 12 characters")
    alphabet = "".join(_CLASSES)
    chars = [secrets.choice(cls) for cls in _CLASSES]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    # Shuffle with a CSPRNG so the class positions are not predictable.
    for i in range(len(chars) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)
