"""DynamoJsonClient on moto: botocore's answers and failures, without botocore's pipeline.

Requests reach moto's in-process mock through the botocore client's `before-send` hook, as
botocore's own do; one test goes over a real socket to a moto server, and the connection
failures are real sockets too (a closed port, a server that never answers).
"""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import (
    ChecksumError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from moto.server import ThreadedMotoServer

from core.adapters.aws_clients import AWS_CLIENT_CONFIG
from core.adapters.dynamo_json import DynamoJsonClient
from tests.integration.conftest import REGION, Clients, Tables
from tests.support.data import ALICE
from tests.support.dynamodb_wire import RawBody, Sent, answer, throttled

PARTITION = {
    "KeyConditionExpression": "pk = :pk AND begins_with(sk, :compact)",
    "ExpressionAttributeValues": {
        ":pk": {"S": f"{ALICE['compact']}#PROVIDER#{ALICE['providerId']}"},
        ":compact": {"S": f"{ALICE['compact']}#"},
    },
}


@pytest.fixture
def botocore_client(moto: Clients) -> Any:
    """A client of the app's own configuration, on its own session (hooks stay per test)."""
    session = boto3.session.Session(region_name=REGION)
    return session.client("dynamodb", config=AWS_CLIENT_CONFIG)


@pytest.fixture
def pauses() -> list[float]:
    return []


@pytest.fixture
def direct(botocore_client: Any, pauses: list[float]) -> DynamoJsonClient:
    credentials = boto3.session.Session(region_name=REGION).get_credentials()
    return DynamoJsonClient(botocore_client, credentials, sleep=pauses.append, jitter=lambda: 0.5)


def without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in answer.items() if name != "ResponseMetadata"}


@pytest.mark.parametrize(
    "request_",
    [
        {**PARTITION, "ScanIndexForward": False, "ConsistentRead": True, "Limit": 64},
        {**PARTITION, "Limit": 1},
        {**PARTITION, "Select": "COUNT"},
        {
            "IndexName": "licenseLookup",
            "KeyConditionExpression": "licenseLookupPk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "aslp#oh"}},
        },
    ],
    ids=["profile", "one-item-page", "count", "index"],
)
def test_a_query_answers_exactly_as_botocore_answers(
    direct: DynamoJsonClient, botocore_client: Any, tables: Tables, request_: dict[str, Any]
) -> None:
    # Given the seeded provider table, When the same Query goes both ways
    request = {"TableName": tables.providers.name, **request_}
    ours = direct.query(**request)

    # Then the answers are the same, item for item and key for key
    assert ours == without_metadata(botocore_client.query(**request))
    assert ours["Count"] > 0


def test_pages_continue_from_the_last_key(
    direct: DynamoJsonClient, botocore_client: Any, tables: Tables
) -> None:
    request = {"TableName": tables.providers.name, **PARTITION, "Limit": 1}
    first = direct.query(**request)

    second = direct.query(**request, ExclusiveStartKey=first["LastEvaluatedKey"])

    assert second == without_metadata(
        botocore_client.query(**request, ExclusiveStartKey=first["LastEvaluatedKey"])
    )
    assert second["Items"] != first["Items"]


def test_an_error_answer_is_botocores_client_error_and_is_not_retried(
    direct: DynamoJsonClient, botocore_client: Any, tables: Tables
) -> None:
    sent = Sent(botocore_client.meta.events)

    with pytest.raises(ClientError) as raised:
        direct.query(TableName="no-such-table", **PARTITION)

    error = raised.value.response
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sent.targets == ["DynamoDB_20120810.Query"]


def test_throttling_is_tried_again_once_after_a_jittered_pause(
    direct: DynamoJsonClient, botocore_client: Any, tables: Tables, pauses: list[float]
) -> None:
    # Given DynamoDB throttles the first attempt
    sent = Sent(botocore_client.meta.events)
    sent.answers.append(throttled())

    # When the profile is queried
    result = direct.query(TableName=tables.providers.name, **PARTITION)

    # Then the second attempt, half of the first second later, got the items
    assert result["Count"] == 3
    assert sent.targets == ["DynamoDB_20120810.Query"] * 2
    assert pauses == [0.5]


def test_throttling_past_the_attempts_is_botocores_throttling_error(
    direct: DynamoJsonClient, botocore_client: Any, tables: Tables, pauses: list[float]
) -> None:
    sent = Sent(botocore_client.meta.events)
    sent.answers += [throttled(), throttled()]

    with pytest.raises(ClientError) as raised:
        direct.query(TableName=tables.providers.name, **PARTITION)

    assert raised.value.response["Error"] == {
        "Code": "ThrottlingException",
        "Message": "Rate of requests exceeds the allowed throughput.",
    }
    assert raised.value.operation_name == "Query"
    assert len(sent.targets) == 2 == AWS_CLIENT_CONFIG.retries["total_max_attempts"]
    assert pauses == [0.5]


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_tried_again(
    direct: DynamoJsonClient, botocore_client: Any, tables: Tables, status: int
) -> None:
    sent = Sent(botocore_client.meta.events)
    sent.answers.append(answer(status, {"__type": "InternalServerError", "message": "oops"}))

    assert direct.query(TableName=tables.providers.name, **PARTITION)["Count"] == 3
    assert len(sent.targets) == 2


def test_an_answer_not_matching_its_crc32_is_tried_again_then_refused(
    direct: DynamoJsonClient, botocore_client: Any, tables: Tables
) -> None:
    sent = Sent(botocore_client.meta.events)
    sent.answers += [answer(200, {"Items": [], "Count": 0}, crc32=1)] * 2

    with pytest.raises(ChecksumError):
        direct.query(TableName=tables.providers.name, **PARTITION)
    assert len(sent.targets) == 2


def test_an_error_body_that_is_not_json_keeps_the_status_as_its_code(
    direct: DynamoJsonClient, botocore_client: Any, tables: Tables
) -> None:
    sent = Sent(botocore_client.meta.events)
    content = b"<html>Bad gateway</html>"
    sent.answers.append(AWSResponse("https://x/", 403, {}, RawBody(content)))

    with pytest.raises(ClientError) as raised:
        direct.query(TableName=tables.providers.name, **PARTITION)
    assert raised.value.response["Error"] == {"Code": "403", "Message": ""}


def test_requests_are_signed_with_the_sessions_credentials(
    moto: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given temporary credentials (a task role's)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIATEMPORARY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-value")
    session = boto3.session.Session(region_name="eu-west-1")
    botocore_client = session.client("dynamodb", config=AWS_CLIENT_CONFIG)
    seen: list[Any] = []
    botocore_client.meta.events.register(
        "before-send.dynamodb", lambda request, **_: seen.append(request)
    )
    direct = DynamoJsonClient(botocore_client, session.get_credentials())

    # When a query is sent (moto has no table there: the answer does not matter)
    with pytest.raises(ClientError):
        direct.query(TableName="t", **PARTITION)

    # Then it went to the region's endpoint, signed for DynamoDB in that region
    request = seen[0]
    assert request.url == "https://dynamodb.eu-west-1.amazonaws.com/"
    assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=ASIATEMPORARY/")
    assert "/eu-west-1/dynamodb/aws4_request" in request.headers["Authorization"]
    assert request.headers["X-Amz-Security-Token"] == "session-token-value"
    assert request.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert json.loads(request.body)["TableName"] == "t"


# ---------------------------------------------------------------------------------------------
# Real sockets
# ---------------------------------------------------------------------------------------------


def socket_client(endpoint: str, **config: Any) -> DynamoJsonClient:
    session = boto3.session.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    botocore_client = session.client(
        "dynamodb", endpoint_url=endpoint, config=AWS_CLIENT_CONFIG.merge(Config(**config))
    )
    return DynamoJsonClient(botocore_client, session.get_credentials(), sleep=lambda _: None)


def test_over_a_real_socket_the_answer_is_moto_servers_own() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        direct = socket_client(endpoint)
        tables = direct.call("ListTables", {})
        assert tables == {"TableNames": []}
        with pytest.raises(ClientError) as raised:
            direct.query(TableName="missing", **PARTITION)
        assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    finally:
        server.stop()


def test_a_closed_port_is_an_endpoint_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    direct = socket_client(f"http://127.0.0.1:{port}")

    with pytest.raises(EndpointConnectionError):
        direct.query(TableName="t", **PARTITION)


def test_a_server_that_never_answers_is_a_read_timeout() -> None:
    # Given a server that takes the request and says nothing
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept_forever() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_forever, daemon=True).start()
    direct = socket_client(f"http://127.0.0.1:{listener.getsockname()[1]}", read_timeout=0.2)
    try:
        with pytest.raises(ReadTimeoutError):
            direct.query(TableName="t", **PARTITION)
        # Both attempts reached it
        assert len(accepted) == 2
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


def test_without_credentials_nothing_is_sent(botocore_client: Any, tables: Tables) -> None:
    sent = Sent(botocore_client.meta.events)
    direct = DynamoJsonClient(botocore_client, None)

    with pytest.raises(NoCredentialsError):
        direct.query(TableName=tables.providers.name, **PARTITION)
    assert sent.targets == []
