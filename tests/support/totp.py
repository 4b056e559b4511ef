"""TOTP codes for moto's Cognito, which checks them for real on the local stack."""

from __future__ import annotations

import time

import pyotp

TOTP_PERIOD = 30
TOTP_MIN_REMAINING = 3.0


class MotoTOTP(pyotp.TOTP):
    """moto hands out the fixed secret 'asdfasdfasdf', shorter than pyotp's minimum."""

    min_secret_length_bits = 0


def fresh_code(totp: pyotp.TOTP) -> str:
    """The current code, waiting for the next window if this one is about to end."""
    remaining = TOTP_PERIOD - time.time() % TOTP_PERIOD
    if remaining < TOTP_MIN_REMAINING:
        time.sleep(remaining + 0.1)
    return totp.now()
