"""No timing oracle under load: 200 concurrent registrations and recoveries on a real server.

Pairs of requests, half registrations (2 s floor) and half initiateRecovery (5 s floor): in
each pair one carries the facts of a registered license (the case that used to be slower under
a burst), the other matches nothing, and all 200 are sent at once over pre-opened raw sockets.
The paired sign test must not tell the two kinds apart, and no answer may come before its
floor. How far past the floor the answers land (target: within 100 ms) is a speed figure, so
it is printed with a PASS/FAIL against that target rather than asserted (run with -s to see
the figures).
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import start_server, stop_server
from tests.support.data import ALICE, initiate_body, registration_body
from tests.support.mail import read_outbox

PAIRS = 100
TOLERANCE = 0.1
REGISTRATION = "/provider-users/registration"
INITIATE = "/provider-users/initiateRecovery"
FLOORS = {REGISTRATION: 2.0, INITIATE: 5.0}  # openapi.yaml, x-response-floor-seconds
CONNECT_SECONDS = 1.0
ALICE_EMAIL = "alice@example.com"
SIDES = ("matched", "missed")


def sign_test_p_value(wins: int, losses: int) -> float:
    """Two-sided exact binomial p-value of `wins` against `losses` (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


class RawClient:
    """One pre-opened connection that sends one request and times it, socket to socket.

    An HTTP client library spends its own CPU on every one of 200 requests at once, and that
    time would count as the server's. Timing runs from just before the request's one write to
    its answer's first byte read, with the connection opened beforehand. Not from just after
    the write: the server may take the request in and start its floor before this process,
    preempted on a busy machine, reads the clock again (an answer then looked 0.8 ms early).
    """

    def __init__(self, api_url: str, path: str, body: dict[str, str]) -> None:
        address = urlsplit(api_url)
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        payload = json.dumps(body).encode()
        self.request = (
            f"POST {address.path}{path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode() + payload

    async def timed(self, go: asyncio.Event) -> tuple[float, int]:
        """Connect, wait for `go`, send, and return (seconds to the first byte, status)."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            await go.wait()
            sent = time.perf_counter()
            writer.write(self.request)
            await writer.drain()
            first = await reader.read(1)
            answered = time.perf_counter()
            status_line = first + await reader.readline()
            await reader.read()
        finally:
            writer.close()
        return answered - sent, int(status_line.split()[1])


@dataclass(frozen=True)
class TimedPair:
    """The seconds to the first byte of a matching and a non-matching request sent together."""

    path: str
    matched: float
    missed: float
    statuses: tuple[int, int]


def pair_bodies(n: int) -> tuple[str, dict[str, str], dict[str, str]]:
    """Pair n: a registration or an initiateRecovery, with Alice's facts and with wrong ones."""
    wrong = f"{(int(ALICE['partialSocial']) + 1 + n) % 10000:04d}"
    if n % 2:
        match = initiate_body(ALICE, ALICE_EMAIL, f"Not-her-password-{n}")
        return INITIATE, match, {**match, "partialSocial": wrong}
    match = registration_body(ALICE, f"someone-{n}@example.org")
    return REGISTRATION, match, {**match, "partialSocial": wrong}


async def burst(api_url: str) -> list[TimedPair]:
    """100 pairs of a matching and a non-matching request, all sent at once."""
    go = asyncio.Event()
    jobs = []
    for n in range(PAIRS):
        path, match, miss = pair_bodies(n)
        pair = [RawClient(api_url, path, match), RawClient(api_url, path, miss)]
        # Which of a pair is sent first alternates, so order cannot bias the comparison.
        ordered = pair if n % 4 < 2 else pair[::-1]
        jobs.append((path, n % 4 < 2, [asyncio.create_task(c.timed(go)) for c in ordered]))
    await asyncio.sleep(CONNECT_SECONDS)  # every connection open before the first request
    go.set()
    pairs = []
    for path, match_first, tasks in jobs:
        first, second = await asyncio.gather(*tasks)
        matched, missed = (first, second) if match_first else (second, first)
        pairs.append(TimedPair(path, matched[0], missed[0], (matched[1], missed[1])))
    return pairs


def test_a_burst_answers_at_the_floor_whatever_the_facts(tmp_path: Path) -> None:
    # Given the real server with its floors, per-IP limits out of the way, and Alice registered
    limits = {"REGISTRATION_IP_LIMIT": "10000 per 15 minutes"}
    limits["INITIATE_RECOVERY_IP_LIMIT"] = "10000 per 15 minutes"
    server = start_server(tmp_path, limits)
    try:
        with httpx.Client(base_url=server.api_url, timeout=30) as client:
            first = client.post(REGISTRATION, json=registration_body(ALICE, ALICE_EMAIL))
            assert first.status_code == 200
        deadline = time.monotonic() + 30
        while not read_outbox(server.outbox_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [m.to for m in read_outbox(server.outbox_dir)] == [ALICE_EMAIL]

        # When 200 requests arrive at once: pairs of registrations and of recoveries, each
        # pair one request with her facts and one with facts that match nothing
        pairs = asyncio.run(burst(server.api_url))
    finally:
        stop_server(server.process)

    # Then every one got the generic answer
    assert {status for pair in pairs for status in pair.statuses} == {200}
    wins = sum(p.matched > p.missed for p in pairs)
    losses = sum(p.matched < p.missed for p in pairs)
    p_value = sign_test_p_value(wins, losses)
    lateness = [t - FLOORS[p.path] for p in pairs for t in (p.matched, p.missed)]
    print(  # noqa: T201 - the figures are the point of this test
        f"\n{2 * PAIRS} concurrent requests (registrations, floor 2 s; initiateRecovery, 5 s):"
        + "".join(kind_figures(pairs, path) for path in FLOORS)
        + f"\n  sign test: matched slower in {wins} pairs, faster in {losses}: p = {p_value:.3f}"
        f"\n  past the floor: min {min(lateness) * 1000:.1f} ms,"
        f" median {statistics.median(lateness) * 1000:.1f} ms, max {max(lateness) * 1000:.1f} ms"
        f" (target < {TOLERANCE * 1000:.0f} ms: {'PASS' if max(lateness) < TOLERANCE else 'FAIL'})"
    )
    # And the two kinds cannot be told apart (a real difference, such as the +30 ms this test
    # was written against, gives p < 1e-10 over 100 pairs), and none came before its floor
    assert p_value > 0.001, f"matched answers are distinguishable: p = {p_value}"
    assert min(lateness) >= 0


def kind_figures(pairs: list[TimedPair], path: str) -> str:
    """One line of medians for the pairs of one operation."""
    kind = [p for p in pairs if p.path == path]
    difference = statistics.median(p.matched - p.missed for p in kind)
    matched, missed = (statistics.median(getattr(p, side) for p in kind) for side in SIDES)
    return (
        f"\n  {path.rsplit('/', 1)[1]}: median matched {matched:.4f} s, unmatched {missed:.4f} s,"
        f" median paired difference {difference * 1000:+.1f} ms"
    )


@pytest.mark.parametrize(("wins", "losses", "expected"), [(50, 50, 1.0), (0, 10, 2 / 1024)])
def test_the_sign_test_is_the_exact_binomial_one(wins: int, losses: int, expected: float) -> None:
    assert sign_test_p_value(wins, losses) == pytest.approx(expected)
