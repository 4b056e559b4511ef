"""The real server over raw sockets: odd headers and paths, slow and idle clients, a full house."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Server, start_server, stop_server
from tests.support.data import ALICE, BUSY

pytestmark = pytest.mark.e2e

READ_TIMEOUT = 2.0
KEEP_ALIVE = 2.0
MAX_CONCURRENCY = 20
FRONTEND = "https://practitioner.example.org"  # an origin allowed to call the API
# How long a closed connection may take to show as closed, beyond its timeout, on a busy box.
SLACK = 3.0


# The cap test holds requests in flight until the server has taken them all in, which a busy
# machine may take more than READ_TIMEOUT to do; its server gives a request longer.
PATIENT_READ_TIMEOUT = 30.0


def serve(tmp_path_factory: pytest.TempPathFactory, read_timeout: float) -> Iterator[Server]:
    """The real server with a short keep-alive, a small concurrency cap and `read_timeout`."""
    running = start_server(
        tmp_path_factory.mktemp("raw-http"),
        {
            "REQUEST_READ_TIMEOUT_SECONDS": str(read_timeout),
            "KEEP_ALIVE_TIMEOUT_SECONDS": str(KEEP_ALIVE),
            "MAX_CONCURRENCY": str(MAX_CONCURRENCY),
            "CORS_ALLOWED_ORIGINS": FRONTEND,
        },
    )
    try:
        yield running
    finally:
        stop_server(running.process)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real server with short timeouts and a small concurrency cap."""
    yield from serve(tmp_path_factory, READ_TIMEOUT)


@pytest.fixture(scope="module")
def patient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same, but a request may take PATIENT_READ_TIMEOUT to arrive."""
    yield from serve(tmp_path_factory, PATIENT_READ_TIMEOUT)


def connect(server: Server) -> socket.socket:
    address = urlsplit(server.api_url)
    return socket.create_connection((address.hostname, address.port), timeout=10)


def exchange(server: Server, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; the status, headers and body of the answer (read to the close)."""
    with connect(server) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            length = [
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            if length and len(body) >= length[0]:
                break
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def json_post(path: bytes, fields: dict[str, str]) -> tuple[bytes, bytes]:
    """The head and body of a keep-alive POST of `fields` as JSON."""
    body = json.dumps(fields).encode()
    head = (
        b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    return head, body


def seconds_until_closed(connection: socket.socket, dribble: bytes = b"") -> float:
    """Send `dribble` one byte every half second (if any) and time how long until EOF."""
    started = time.monotonic()
    connection.settimeout(0.5)
    sent = 0
    while time.monotonic() - started < READ_TIMEOUT + KEEP_ALIVE + 10:
        if sent < len(dribble):
            try:
                connection.sendall(dribble[sent : sent + 1])
            except OSError:  # reset: closed
                return time.monotonic() - started
            sent += 1
        try:
            if connection.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    return float("inf")


def test_two_content_type_headers_are_refused_before_validation(server: Server) -> None:
    # Given a verifyRecovery body whose token is a number, declared as JSON twice over
    body = json.dumps(
        {
            "compact": "aslp",
            "providerId": ALICE["providerId"],
            "recoveryToken": 0,
            "recaptchaToken": "ok",
        }
    ).encode()
    request = (
        b"POST /v1/provider-users/verifyRecovery HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/JSON\r\nContent-Type: +json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )

    status, headers, answer = exchange(server, request)

    assert (status, headers["content-type"]) == (415, "application/problem+json")
    assert json.loads(answer) == {
        "type": "about:blank",
        "title": "Unsupported Media Type",
        "status": 415,
        "detail": "The request body must be sent as application/json",
        "message": "The request body must be sent as application/json",
    }


def test_a_body_sent_after_the_floor_has_passed_still_waits_the_whole_floor(
    server: Server,
) -> None:
    # Given a verifyRecovery (3 s floor) whose headers come 1.5 s before its body
    head, body = json_post(
        b"/v1/provider-users/verifyRecovery",
        {
            "compact": "aslp",
            "providerId": ALICE["providerId"],
            "recoveryToken": "a" * 22 + "." + "b" * 43,
            "recaptchaToken": "ok",
        },
    )
    with connect(server) as connection:
        connection.sendall(head)
        time.sleep(1.5)
        # When the body comes (timed from just before the write: the server may take it in
        # before this client, preempted, reads the clock again)
        sent = time.monotonic()
        connection.sendall(body)
        answer = connection.recv(65536)
        waited = time.monotonic() - sent

    # Then the answer (the link is not valid) comes only once the floor has passed since
    assert answer.startswith(b"HTTP/1.1 400")
    assert waited >= 3.0


@pytest.mark.parametrize(
    "head",
    [
        b"POST /v1/provider-users/registration HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2",
        b"POST /v1/provider-users/registration HTTP/1.1\r\nContent-Length: 2\r\n"
        b"Transfer-Encoding: chunked",
        "GET /v1/provider-users/é HTTP/1.1".encode(),
    ],
    ids=["two-content-lengths", "length-and-chunked", "raw-non-ascii-path"],
)
def test_a_request_the_http_parser_refuses_is_a_400_problem(server: Server, head: bytes) -> None:
    # Given a request no HTTP/1.1 server may accept as it stands
    request = head + b"\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{}"

    # When it is sent
    status, headers, body = exchange(server, request)

    # Then the server refuses it as the API refuses any bad request, and closes the connection
    assert (status, headers["content-type"], headers["connection"]) == (
        400,
        "application/problem+json",
        "close",
    )
    assert json.loads(body) == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "Invalid HTTP request received.",
        "message": "Invalid HTTP request received.",
    }


@pytest.mark.parametrize("path", ["//v1/provider-users/registration", "//v1/health"])
def test_a_path_starting_with_two_slashes_is_404(server: Server, path: str) -> None:
    body = b"{}"
    request = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
        + b"Content-Length: 2\r\nConnection: close\r\n\r\n"
        + body
    )

    status, headers, answer = exchange(server, request)

    assert (status, headers["content-type"]) == (404, "application/problem+json")
    assert json.loads(answer)["detail"] == "Not found"
    assert "outside of operation context" not in server.log_tail(400)


def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    with connect(server) as connection:
        waited = seconds_until_closed(connection)

    assert READ_TIMEOUT - 0.5 <= waited <= READ_TIMEOUT + SLACK


def test_headers_sent_one_byte_at_a_time_are_cut_off(server: Server) -> None:
    request = b"GET /v1/ready HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
    with connect(server) as connection:
        waited = seconds_until_closed(connection, dribble=request)

    assert waited <= READ_TIMEOUT + SLACK


def test_a_body_sent_one_byte_at_a_time_is_cut_off(server: Server) -> None:
    head = (
        b"POST /v1/provider-users/registration HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    )
    with connect(server) as connection:
        connection.sendall(head)
        waited = seconds_until_closed(connection, dribble=b"{" + b" " * 399)

    assert waited <= READ_TIMEOUT + SLACK


def test_an_idle_kept_alive_connection_is_closed(server: Server) -> None:
    with connect(server) as connection:
        connection.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        connection.settimeout(10)
        assert connection.recv(65536).startswith(b"HTTP/1.1 200")

        waited = seconds_until_closed(connection)

    assert KEEP_ALIVE - 0.5 <= waited <= KEEP_ALIVE + SLACK


LIVE = b"GET /v1/public/jurisdictions/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
HEALTH = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
RECOVERY = b"/v1/provider-users/initiateRecovery"
PREFLIGHT = (
    b"OPTIONS " + RECOVERY + b" HTTP/1.1\r\nHost: x\r\nOrigin: " + FRONTEND.encode() + b"\r\n"
    b"Access-Control-Request-Method: POST\r\n"
    b"Access-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n"
)
FROM_FRONTEND = (
    b"POST " + RECOVERY + b" HTTP/1.1\r\nHost: x\r\nOrigin: " + FRONTEND.encode() + b"\r\n"
    b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
)


def test_idle_connections_do_not_count_against_the_cap(server: Server) -> None:
    # Given more connections open than the cap, kept alive after a request or never used
    idle = [connect(server) for _ in range(MAX_CONCURRENCY + 5)]
    try:
        for connection in idle[:MAX_CONCURRENCY]:
            connection.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert connection.recv(65536).startswith(b"HTTP/1.1 200")

        # When another client asks, then it is served
        assert exchange(server, LIVE)[0] == 200
        assert exchange(server, HEALTH)[0] == 200
    finally:
        for connection in idle:
            connection.close()


def test_past_the_cap_on_requests_in_flight_only_liveness_is_answered(
    patient_server: Server,
) -> None:
    server = patient_server
    # Given as many requests in flight as the cap: each waits for a body that never comes
    head = (
        b"POST /v1/provider-users/registration HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    waiting = [connect(server) for _ in range(MAX_CONCURRENCY)]
    try:
        for connection in waiting:
            connection.sendall(head)

        # When one more request comes once the server has taken them all in, then it is refused
        # at once with the spec's 503 problem
        deadline = time.monotonic() + 10
        while True:
            started = time.monotonic()
            status, headers, body = exchange(server, LIVE)
            answered_in = time.monotonic() - started
            if status == 503 or started > deadline:
                break
            time.sleep(0.1)  # not all of them were in yet: the request was served
        assert answered_in < 1
        assert (status, headers["content-type"], headers["retry-after"]) == (
            503,
            "application/problem+json",
            "5",
        )
        assert json.loads(body) == BUSY
        # With the headers every answer carries
        assert (headers["x-content-type-options"], headers["cache-control"]) == (
            "nosniff",
            "no-store",
        )

        # A frontend on another origin may read it: its preflight is answered, the 503 shared
        status, headers, _ = exchange(server, PREFLIGHT)
        assert (status, headers["access-control-allow-origin"]) == (200, FRONTEND)
        assert "POST" in headers["access-control-allow-methods"]
        assert (headers["x-content-type-options"], headers["cache-control"]) == (
            "nosniff",
            "no-store",
        )
        status, headers, body = exchange(server, FROM_FRONTEND)
        assert (status, json.loads(body)) == (503, BUSY)
        assert headers["access-control-allow-origin"] == FRONTEND
        assert "Retry-After" in headers["access-control-expose-headers"]

        # But the liveness check is answered: under load a failing one gets a task replaced
        assert exchange(server, HEALTH)[0] == 200
    finally:
        for connection in waiting:
            connection.close()
    # And once those requests are gone (each still waits out its 2 s floor), it serves again
    deadline = time.monotonic() + 2 + 2 * SLACK
    while exchange(server, LIVE)[0] != 200:
        assert time.monotonic() < deadline, "still refusing after the requests ended"
        time.sleep(0.2)


def test_a_client_that_hangs_up_on_pipelined_answers_is_no_server_error(server: Server) -> None:
    # Given a client that asks for many answers at once, reads none and hangs up
    with connect(server) as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        connection.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 2000)
        time.sleep(READ_TIMEOUT * 0.75)  # long enough to fill every buffer, not to be dropped
    time.sleep(1)

    # Then the answer being written when it left is dropped quietly, not failed as a 5xx
    log = server.log_tail(20000)
    assert "RuntimeError" not in log
    assert "without completing response" not in log


def test_headers_past_the_limit_are_refused_with_431(server: Server) -> None:
    big = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 70_000 + b"\r\n\r\n"
    status, headers, body = exchange(server, big)

    assert (status, headers["content-type"], headers["connection"]) == (
        431,
        "application/problem+json",
        "close",
    )
    assert json.loads(body)["detail"] == "The request headers are too large"
    # And headers of a usual size, cookies and tokens included, pass
    usual = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nCookie: " + b"c" * 8000 + b"\r\n\r\n"
    assert exchange(server, usual)[0] == 200


@pytest.mark.parametrize(
    "head",
    [
        b"GET /v1/health HTTP/1.1\r\n\r\n",
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
        b"GET /v1/health HTTP/1.0\r\nHost: x\r\nhost: y\r\n\r\n",
    ],
    ids=["no-host", "two-hosts", "two-hosts-http-1.0"],
)
def test_a_request_without_exactly_one_host_is_refused(server: Server, head: bytes) -> None:
    status, headers, body = exchange(server, head)

    assert (status, headers["content-type"]) == (400, "application/problem+json")
    assert json.loads(body)["detail"] == "Send exactly one Host header"


@pytest.mark.parametrize(
    ("refused", "status", "detail"),
    [
        (b"GET /v1/health HTTP/1.1\r\n\r\n", 400, "Send exactly one Host header"),
        (
            b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
            431,
            "The request headers are too large",
        ),
    ],
    ids=["no-host", "head-too-large"],
)
def test_a_refused_pipelined_request_is_answered_after_the_one_before_it(
    server: Server, refused: bytes, status: int, detail: str
) -> None:
    # Given a cancelRecovery (2 s floor) and, behind it on the same connection, a request the
    # protocol refuses
    head, body = json_post(
        b"/v1/provider-users/cancelRecovery",
        {
            "compact": "aslp",
            "providerId": ALICE["providerId"],
            "cancelToken": "a" * 22 + "." + "b" * 43,
            "recaptchaToken": "ok",
        },
    )
    with connect(server) as connection:
        connection.sendall(head + body)
        time.sleep(0.2)
        connection.sendall(refused)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk

    # Then the first answer comes first, then the refusal, then the connection closes
    answers = received.split(b"HTTP/1.1 ")[1:]
    assert [int(answer[:3]) for answer in answers] == [200, status]
    assert json.loads(answers[0].partition(b"\r\n\r\n")[2]) == {"message": "request processed"}
    assert json.loads(answers[1].partition(b"\r\n\r\n")[2])["detail"] == detail


def test_an_http_1_0_request_needs_no_host(server: Server) -> None:
    assert exchange(server, b"GET /v1/health HTTP/1.0\r\n\r\n")[0] == 200
