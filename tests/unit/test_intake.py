"""Intake pacing: a few requests per event-loop turn, first come first, none lost."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from handlers.intake import FIRST_GUESS_PER_TURN, MAX_PER_TURN, IntakePacer


class TurnCounter:
    """Counts event-loop turns: a callback that reschedules itself once per turn."""

    def __init__(self) -> None:
        self.turn = 0
        self._running = True

    def start(self) -> None:
        asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._running = False

    def _tick(self) -> None:
        if self._running:
            self.turn += 1
            asyncio.get_running_loop().call_soon(self._tick)


class FakeClock:
    """The pacer's clock; each admitted request's first step moves it on by its cost."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def admitted_turns(
    pacer: IntakePacer, requests: int, clock: FakeClock | None = None, cost: float = 0.0
) -> list[tuple[int, int]]:
    """(request number, turn it was admitted in) for `requests` arriving in the same turn.

    Each admitted request's first step costs the loop `cost` seconds of `clock`.
    """
    turns = TurnCounter()
    turns.start()
    admitted: list[tuple[int, int]] = []

    async def request(number: int) -> None:
        await pacer.admit()
        admitted.append((number, turns.turn))
        if clock is not None:
            clock.now += cost

    await asyncio.gather(*(request(n) for n in range(requests)))
    turns.stop()
    return admitted


def test_a_burst_is_admitted_a_few_per_turn_in_arrival_order() -> None:
    # Given a pacer admitting two requests per turn
    pacer = IntakePacer(per_turn=2)

    # When seven requests arrive in the same turn
    admitted = asyncio.run(admitted_turns(pacer, 7))

    # Then all are admitted, in arrival order, never more than two in one turn
    assert [number for number, _ in admitted] == list(range(7))
    per_turn: dict[int, int] = {}
    for _, turn in admitted:
        per_turn[turn] = per_turn.get(turn, 0) + 1
    assert max(per_turn.values()) == 2
    assert len(per_turn) == 4


def test_requests_within_the_turns_share_are_not_delayed() -> None:
    # Given a pacer admitting eight requests per turn
    pacer = IntakePacer(per_turn=8)

    # When three arrive together
    admitted = asyncio.run(admitted_turns(pacer, 3))

    # Then all three go on in the turn they arrived in
    assert {turn for _, turn in admitted} == {admitted[0][1]}


def test_a_request_that_leaves_while_waiting_takes_no_place() -> None:
    # Given a pacer admitting one request per turn, and three requests arriving together
    pacer = IntakePacer(per_turn=1)

    async def scenario() -> list[str]:
        admitted: list[str] = []

        async def request(name: str) -> None:
            await pacer.admit()
            admitted.append(name)

        first = asyncio.create_task(request("first"))
        leaving = asyncio.create_task(request("leaving"))
        last = asyncio.create_task(request("last"))
        await asyncio.sleep(0)  # all three have asked
        # When the second one's client goes away before its turn
        leaving.cancel()
        await asyncio.gather(first, last, leaving, return_exceptions=True)
        return admitted

    # Then the others are admitted, and the one that left never is
    assert asyncio.run(scenario()) == ["first", "last"]


def test_a_pacer_serves_a_new_event_loop_afresh() -> None:
    # Given a pacer whose first loop ended with requests still waiting their turn
    pacer = IntakePacer(per_turn=1)

    async def abandon() -> None:
        for _ in range(3):
            asyncio.get_running_loop().create_task(pacer.admit())
        await asyncio.sleep(0)

    asyncio.run(abandon())

    # When it serves requests on another loop (as each test's asyncio.run does)
    admitted = asyncio.run(admitted_turns(pacer, 2))

    # Then they are admitted, the old loop's waiters forgotten
    assert [number for number, _ in admitted] == [0, 1]


def admissions_per_turn(admitted: list[tuple[int, int]]) -> list[int]:
    """How many requests each turn admitted, turn after turn."""
    counts = Counter(turn for _, turn in admitted)
    return [counts[turn] for turn in sorted(counts)]


@pytest.mark.parametrize(
    ("first_step_ms", "per_turn"),
    [
        (2.5, 2),  # a host three times slower than the one the budget was measured on
        (0.7, 8),  # that host: 8 first steps in the 6 ms budget
        (0.25, 24),  # a faster one
        (50.0, 1),  # however slow, one a turn
        (0.01, MAX_PER_TURN),  # however fast, a bounded number
    ],
)
def test_a_turn_admits_what_fits_in_its_budget_of_loop_time(
    first_step_ms: float, per_turn: int
) -> None:
    # Given a pacer with a 6 ms budget, on a host where a request's first step takes this long
    clock = FakeClock()
    pacer = IntakePacer(budget=0.006, clock=clock)

    # When a burst arrives
    admitted = asyncio.run(admitted_turns(pacer, 300, clock, first_step_ms / 1000))

    # Then the first turn admits the first guess, and every later turn what fits in 6 ms
    counts = admissions_per_turn(admitted)
    assert counts[0] == FIRST_GUESS_PER_TURN
    assert set(counts[1:-1]) == {per_turn}
    assert pacer.per_turn == per_turn
    assert [number for number, _ in admitted] == list(range(300))


def test_the_estimate_follows_a_host_that_slows_down() -> None:
    # Given a pacer that learned a fast host (0.4 ms a first step: 15 a turn)
    clock = FakeClock()
    pacer = IntakePacer(budget=0.006, clock=clock)
    asyncio.run(admitted_turns(pacer, 100, clock, 0.0004))
    assert pacer.per_turn == 15

    # When the host becomes six times slower
    admitted = asyncio.run(admitted_turns(pacer, 200, clock, 0.0025))

    # Then within a few turns each admits 2, never more than before
    counts = admissions_per_turn(admitted)
    assert max(counts) <= 15
    assert counts[-5:-1] == [2, 2, 2, 2]
