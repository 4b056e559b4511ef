"""Turn botocore failures into the core's retryable or non-retryable errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from core.errors import ConditionFailed, ServiceError, UpstreamFailed, UpstreamUnavailable
from core.metrics import AWS_ERRORS

log = logging.getLogger(__name__)

RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "ServiceUnavailable",
        "InternalServerError",
        "InternalErrorException",
        "InternalFailure",
    }
)


def error_code(error: ClientError) -> str:
    """The AWS error code of a ClientError."""
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def aws_call(service: str, operation: str) -> Iterator[None]:
    """Run one AWS call; unexpected failures become UpstreamUnavailable or UpstreamFailed."""
    try:
        yield
    except ServiceError:
        raise
    except ClientError as error:
        code = error_code(error)
        AWS_ERRORS.labels(service, operation, code or "unknown").inc()
        log.warning("aws call failed service=%s operation=%s code=%s", service, operation, code)
        if code in RETRYABLE_CODES:
            raise UpstreamUnavailable() from error
        raise UpstreamFailed() from error
    except BotoCoreError as error:
        AWS_ERRORS.labels(service, operation, type(error).__name__).inc()
        log.warning(
            "aws call failed service=%s operation=%s error=%s",
            service,
            operation,
            type(error).__name__,
        )
        raise UpstreamUnavailable() from error


@contextmanager
def conditional_write(operation: str) -> Iterator[None]:
    """One DynamoDB write with conditions: ConditionFailed if one did not hold, else aws_call."""
    with aws_call("dynamodb", operation):
        try:
            yield
        except ClientError as error:
            if _a_condition_failed(error):
                raise ConditionFailed() from error
            raise


def _a_condition_failed(error: ClientError) -> bool:
    code = error_code(error)
    if code == "ConditionalCheckFailedException":
        return True
    reasons = error.response.get("CancellationReasons", [])
    return code == "TransactionCanceledException" and any(
        reason.get("Code") == "ConditionalCheckFailed" for reason in reasons
    )
