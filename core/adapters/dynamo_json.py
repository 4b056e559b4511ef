"""DynamoDB's JSON protocol spoken directly, for the read behind every page load.

`GET /v1/provider-users/me` is one Query. Through botocore's client that Query cost 2.2 times the
CPU of sending it as this client does (2.5-2.7 against 1.1-1.2 ms, docs/BENCHMARKS.md): its event
hooks, endpoint rules, a shape-driven serializer and parser, a user agent built on every call.
DynamoDB's protocol is one signed JSON POST, so this client sends just that. From botocore it
takes everything that must not differ from the SDK: the endpoint, region and timeouts its
client resolved, the session's credentials (refreshed as botocore refreshes them), SigV4
signing, its CA bundle, its exceptions, and the client's `before-send` hook. That hook is where
moto's in-process mock and a test's injected faults meet a request, for this client exactly as
for botocore's own calls; nothing is registered there in production.

Writes keep botocore: their conditions, transactions and cancellation reasons are worth the SDK.
"""

from __future__ import annotations

import json
import random
import time
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import (
    ChecksumError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.httpsession import get_cert_path

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
# What botocore's standard retry mode retries (botocore/retries/standard.py).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
    }
)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
MAX_BACKOFF_SECONDS = 20.0


class _Retryable(Exception):
    """A failed attempt that another attempt may get past; `error` is what the caller sees."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class DynamoJsonClient:
    """Signed DynamoDB JSON calls over one pool of connections; thread-safe, like a client."""

    def __init__(
        self,
        botocore_client: Any,
        credentials: Credentials | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        meta = botocore_client.meta
        config = meta.config
        self._url = meta.endpoint_url.rstrip("/") + "/"
        self._path = urlsplit(self._url).path
        self._region = meta.region_name
        self._events = meta.events
        self._credentials = credentials
        # botocore's normalised count, first attempt included (3 is its standard mode's default).
        self._max_attempts = int((config.retries or {}).get("total_max_attempts", 3))
        self._sleep = sleep
        self._jitter = jitter
        tls = {"ca_certs": get_cert_path(True)} if self._url.startswith("https:") else {}
        self._pool = urllib3.connection_from_url(
            self._url,
            maxsize=config.max_pool_connections,
            timeout=urllib3.Timeout(connect=config.connect_timeout, read=config.read_timeout),
            retries=False,
            **tls,
        )

    def query(self, **request: Any) -> dict[str, Any]:
        """One Query, answered as botocore's `client.query` answers (typed attribute values)."""
        return self.call("Query", request)

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """One DynamoDB operation; ClientError or a BotoCoreError once the attempts are spent."""
        body = json.dumps(request).encode()
        attempt = 1
        while True:
            try:
                return self._attempt(operation, body)
            except _Retryable as failure:
                if attempt >= self._max_attempts:
                    raise failure.error from None
            # Full jitter, as botocore's standard mode: up to 1 s before the second attempt.
            self._sleep(self._jitter() * min(MAX_BACKOFF_SECONDS, 2.0 ** (attempt - 1)))
            attempt += 1

    def _attempt(self, operation: str, body: bytes) -> dict[str, Any]:
        request = AWSRequest(
            "POST",
            self._url,
            data=body,
            headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + operation},
        )
        if self._credentials is None:
            raise NoCredentialsError()
        # Frozen per attempt: temporary credentials are refreshed here when they near expiry.
        frozen = self._credentials.get_frozen_credentials()
        SigV4Auth(frozen, "dynamodb", self._region).add_auth(request)
        status, headers, content = self._send(operation, request, body)
        if status == 200:
            _check_crc32(headers, content)
            return json.loads(content)  # type: ignore[no-any-return]
        error = _client_error(operation, status, headers, content)
        code = error.response["Error"]["Code"]
        if code in THROTTLING_CODES or code in TRANSIENT_CODES or status in TRANSIENT_STATUSES:
            raise _Retryable(error)
        raise error

    def _send(self, operation: str, request: AWSRequest, body: bytes) -> tuple[int, Any, bytes]:
        prepared = request.prepare()
        for answer in self._events.emit(f"before-send.dynamodb.{operation}", request=prepared):
            stubbed = answer[1]
            if stubbed is not None:
                return int(stubbed.status_code), stubbed.headers, bytes(stubbed.content)
        try:
            response = self._pool.urlopen(
                "POST",
                self._path,
                body=body,
                headers=dict(prepared.headers.items()),
                retries=False,
                preload_content=True,
            )
        except urllib3.exceptions.NewConnectionError as error:  # before its base class
            raise _Retryable(EndpointConnectionError(endpoint_url=self._url, error=error)) from None
        except urllib3.exceptions.ConnectTimeoutError as error:
            raise _Retryable(ConnectTimeoutError(endpoint_url=self._url, error=error)) from None
        except urllib3.exceptions.ReadTimeoutError as error:
            raise _Retryable(ReadTimeoutError(endpoint_url=self._url, error=error)) from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError) as error:
            raise _Retryable(ConnectionClosedError(endpoint_url=self._url, error=error)) from None
        return response.status, response.headers, response.data


def _check_crc32(headers: Any, content: bytes) -> None:
    """DynamoDB sends each answer's CRC32, which botocore checks; a mismatch is retried."""
    expected = headers.get("x-amz-crc32")
    actual = str(zlib.crc32(content) & 0xFFFFFFFF)
    if expected is not None and expected.strip() != actual:
        raise _Retryable(
            ChecksumError(checksum_type="crc32", expected_checksum=expected, actual_checksum=actual)
        )


def _client_error(operation: str, status: int, headers: Any, content: bytes) -> ClientError:
    """The ClientError botocore raises for a DynamoDB error answer (code from `__type`)."""
    try:
        body = json.loads(content)
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("__type") or status).rsplit("#", 1)[-1]
    message = str(body.get("message", body.get("Message", "")))
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {
            "HTTPStatusCode": status,
            "RequestId": headers.get("x-amzn-requestid", ""),
        },
    }
    if "CancellationReasons" in body:
        response["CancellationReasons"] = body["CancellationReasons"]
    return ClientError(response, operation)  # type: ignore[arg-type]
