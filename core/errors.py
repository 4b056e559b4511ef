"""The domain's error hierarchy; handlers/errors.py maps each class to an HTTP status."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the core raises on purpose; the message is safe to show a client."""

    default_message = "The request could not be processed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class RecaptchaFailed(ServiceError):
    """The reCAPTCHA token did not verify (or verification could not be reached)."""

    default_message = "reCAPTCHA verification failed"


class InvalidRecoveryLink(ServiceError):
    """Any problem with a recovery token; one message so that none can be told apart."""

    default_message = "Invalid or expired recovery link"


class RecoveryNotYetUsable(InvalidRecoveryLink):
    """A valid link presented during its cool-down; only its holder can get this answer."""

    default_message = "This recovery link does not work yet"

    def __init__(self, usable_from: str | None = None, retry_after: int = 1) -> None:
        super().__init__(f"This recovery link works from {usable_from}" if usable_from else None)
        self.retry_after = retry_after  # seconds until it works


class RateLimited(ServiceError):
    """Too many attempts; retry_after is in seconds."""

    default_message = "Too many requests; try again later"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class Unauthenticated(ServiceError):
    """Missing or unacceptable credentials."""

    default_message = "Authentication required"


class SessionPredatesRecovery(ServiceError):
    """A session that began before the pending recovery was asked for may not cancel it.

    A lost device still signed in has such a session; the owner signs in again first.
    """

    default_message = (
        "Sign in again to cancel this recovery: your session began before it was requested"
    )


class NotFound(ServiceError):
    """The resource does not exist."""

    default_message = "Not found"


class ConditionFailed(Exception):
    """A conditional write lost: someone else changed the record first (services handle it).

    An internal race signal, not a ServiceError: its text may name a record or a username, and
    nothing promises it is fit for a client. Should one escape, it is an unexpected 500.
    """


class UpstreamUnavailable(ServiceError):
    """An AWS dependency throttled or could not be reached; the client may retry."""

    default_message = "A dependency is temporarily unavailable; please retry"


class UpstreamFailed(ServiceError):
    """An AWS dependency answered with an unexpected error."""

    default_message = "The request could not be completed; please retry"


class Overloaded(UpstreamUnavailable):
    """The queue of background work is full: refused at once, for every caller alike."""

    default_message = "The service is busy; please retry in a moment"
