"""No timing oracle under load: 200 concurrent registrations on a real server process.

Half the requests carry the facts of a registered license (the case that used to be slower
under a burst), half match nothing. Pairs are sent together; the paired sign test must not
tell the two kinds apart, and no answer may come before the 2 s floor. How far past the floor
the answers land (target: within 100 ms) is a speed figure, so it is printed with a PASS/FAIL
against that target rather than asserted (run with -s to see the figures).
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import start_server, stop_server
from tests.support.data import ALICE, registration_body
from tests.support.mail import read_outbox

PAIRS = 100
FLOOR = 2.0
TOLERANCE = 0.1
URL = "/provider-users/registration"


def sign_test_p_value(wins: int, losses: int) -> float:
    """Two-sided exact binomial p-value of `wins` against `losses` (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


async def timed(client: httpx.AsyncClient, body: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    answer = await client.post(URL, json=body)
    return time.perf_counter() - started, answer.status_code


async def pair(client: httpx.AsyncClient, match: dict[str, str], miss: dict[str, str], n: int):  # noqa: ANN201
    """Both requests of a pair at once; which goes first alternates, so order cannot bias."""
    if n % 2:
        missed, matched = await asyncio.gather(timed(client, miss), timed(client, match))
    else:
        matched, missed = await asyncio.gather(timed(client, match), timed(client, miss))
    return matched, missed


async def burst(api_url: str) -> list[tuple[tuple[float, int], tuple[float, int]]]:
    limits = httpx.Limits(max_connections=2 * PAIRS + 10)
    async with httpx.AsyncClient(base_url=api_url, timeout=60, limits=limits) as client:
        jobs = []
        for n in range(PAIRS):
            match = registration_body(ALICE, f"someone-{n}@example.org")
            wrong = f"{(int(ALICE['partialSocial']) + 1 + n) % 10000:04d}"
            jobs.append(pair(client, match, {**match, "partialSocial": wrong}, n))
        return list(await asyncio.gather(*jobs))


def test_a_burst_of_registrations_answers_at_the_floor_whatever_the_facts(tmp_path: Path) -> None:
    # Given the real server with its floors, per-IP limits out of the way, and Alice registered
    server = start_server(tmp_path, {"REGISTRATION_IP_LIMIT": "10000 per 15 minutes"})
    try:
        with httpx.Client(base_url=server.api_url, timeout=30) as client:
            first = client.post(URL, json=registration_body(ALICE, "alice@example.com"))
            assert first.status_code == 200
        deadline = time.monotonic() + 30
        while not read_outbox(server.outbox_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [m.to for m in read_outbox(server.outbox_dir)] == ["alice@example.com"]

        # When 200 registrations arrive at once, pairs of matching and non-matching facts
        pairs = asyncio.run(burst(server.api_url))
    finally:
        stop_server(server.process)

    # Then every one got the generic answer
    assert {status for pair in pairs for _, status in pair} == {200}
    matched = [m for (m, _), _ in pairs]
    missed = [n for _, (n, _) in pairs]
    wins = sum(m > n for m, n in zip(matched, missed, strict=True))
    losses = sum(m < n for m, n in zip(matched, missed, strict=True))
    p_value = sign_test_p_value(wins, losses)
    difference = statistics.median(m - n for m, n in zip(matched, missed, strict=True))
    lateness = [t - FLOOR for t in matched + missed]
    print(  # noqa: T201 - the figures are the point of this test
        f"\n{2 * PAIRS} concurrent registrations, floor {FLOOR} s:"
        f"\n  median matched {statistics.median(matched):.4f} s,"
        f" median unmatched {statistics.median(missed):.4f} s,"
        f" median paired difference {difference * 1000:+.1f} ms"
        f"\n  sign test: matched slower in {wins} pairs, faster in {losses}: p = {p_value:.3f}"
        f"\n  past the floor: min {min(lateness) * 1000:.1f} ms,"
        f" median {statistics.median(lateness) * 1000:.1f} ms, max {max(lateness) * 1000:.1f} ms"
        f" (target < {TOLERANCE * 1000:.0f} ms: {'PASS' if max(lateness) < TOLERANCE else 'FAIL'})"
    )
    # And the two kinds cannot be told apart (a real difference, such as the +30 ms this test
    # was written against, gives p < 1e-10 over 100 pairs), and none came before the floor
    assert p_value > 0.001, f"matched answers are distinguishable: p = {p_value}"
    assert min(lateness) >= 0


@pytest.mark.parametrize(("wins", "losses", "expected"), [(50, 50, 1.0), (0, 10, 2 / 1024)])
def test_the_sign_test_is_the_exact_binomial_one(wins: int, losses: int, expected: float) -> None:
    assert sign_test_p_value(wins, losses) == pytest.approx(expected)
