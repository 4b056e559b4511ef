"""DynamoDB on the wire, for tests: what leaves a client, and answers to give in moto's place.

Both go through a botocore client's `before-send` hook, which botocore's own calls and the
profile's direct JSON calls (core/adapters/dynamo_json.py) pass alike.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse

ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com/"


def target_of(request: Any) -> str | None:
    """A prepared request's X-Amz-Target ("DynamoDB_20120810.Query"), as text, if it has one."""
    target = request.headers.get("X-Amz-Target")
    return target.decode() if isinstance(target, bytes) else target


class Sent:
    """The target of each DynamoDB request leaving a client; `answers` are given in moto's place."""

    def __init__(self, events: Any) -> None:
        """Watch `events`: a client's `meta.events`, or a session's `events` (all its clients)."""
        self.targets: list[str] = []
        self.answers: list[AWSResponse] = []
        events.register("before-send.dynamodb", self._before_send)

    def _before_send(self, request: Any, **_kwargs: Any) -> AWSResponse | None:
        self.targets.append(target_of(request) or "")
        return self.answers.pop(0) if self.answers else None


class RawBody:
    """What AWSResponse reads its content from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self._body


def answer(status: int, body: dict[str, Any], crc32: int | None = None) -> AWSResponse:
    """A DynamoDB answer as it comes off the wire, with its CRC32 (or a wrong one)."""
    content = json.dumps(body).encode()
    checksum = zlib.crc32(content) & 0xFFFFFFFF if crc32 is None else crc32
    headers = {"x-amz-crc32": str(checksum), "x-amzn-requestid": "req-1"}
    return AWSResponse(ENDPOINT, status, headers, RawBody(content))


def throttled() -> AWSResponse:
    return answer(
        400,
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "message": "Rate of requests exceeds the allowed throughput.",
        },
    )
