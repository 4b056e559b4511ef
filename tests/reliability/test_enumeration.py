"""initiateRecovery tells nobody anything: every outcome looks and takes the same, floors on.

Several requests of each case go out at once through the Connexion app (its ASGI middlewares,
floors included), so the whole test takes about one 5 s floor.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import random
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core.config import Settings
from core.local.seed import COLUMNS
from core.local.stack import seed_file
from handlers.app import create_app
from tests.reliability.harness import World
from tests.support.arrival import stamped_on_arrival
from tests.support.data import ALICE, BOB, initiate_body
from tests.support.leaks import remember

PER_CASE = 5
# Headers whose value differs on every response, whatever the outcome.
PER_REQUEST_HEADERS = {
    "date": re.compile(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT"),
    "x-request-id": re.compile(r"[0-9a-f]{32}"),
}
FLOOR_SECONDS = 5.0
MAX_MEDIAN_SPREAD_SECONDS = 0.050
PASSWORD = remember("Copper-Kettle-7734!")
WRONG_PASSWORD = remember("Copper-Kettle-7735!")

# Licensees of this test only, besides ALICE and BOB of tests/support/data.py.
RIGHT = {
    "providerId": "5e0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b",
    "compact": "coun",
    "jurisdiction": "ky",
    "licenseType": "licensed professional counselor",
    "givenName": "Ottoline",
    "familyName": "Brackwater",
    "dob": "1986-05-14",
    "partialSocial": "3071",
}
WRONG = RIGHT | {
    "providerId": "6f1d2b3c-4d5e-4f6a-9b7c-8d9e0f1a2b3c",
    "givenName": "Lysander",
    "familyName": "Quarrington",
    "dob": "1973-12-02",
    "partialSocial": "5519",
}
MISMATCH = RIGHT | {
    "providerId": "7a2e3c4d-5e6f-4a7b-8c8d-9e0f1a2b3c4d",
    "givenName": "Perpetua",
    "familyName": "Haldane-Voss",
    "dob": "1969-07-28",
    "partialSocial": "8842",
}
NOBODY = BOB  # seeded, never registered
NO_LICENSE = ALICE | {"dob": "1970-01-01", "partialSocial": "0000"}
OVER_LIMIT = ALICE


def email_of(person: dict[str, str]) -> str:
    """The email each registered test licensee uses."""
    return f"{person['givenName'].lower()}.{person['providerId'][:8]}@example.com"


@dataclass(frozen=True)
class Case:
    """One way initiateRecovery can go, and the outcome it must log."""

    name: str
    outcome: str
    body: dict[str, str]


CASES = [
    Case("right password", "sent", initiate_body(RIGHT, email_of(RIGHT), PASSWORD)),
    Case("wrong password", "bad_password", initiate_body(WRONG, email_of(WRONG), WRONG_PASSWORD)),
    Case(
        "email not the registered one",
        "email_mismatch",
        initiate_body(MISMATCH, "someone.else@example.com", PASSWORD),
    ),
    Case(
        "license registered to nobody",
        "not_registered",
        initiate_body(NOBODY, "zephrine@example.com", PASSWORD),
    ),
    Case("no license", "no_match", initiate_body(NO_LICENSE, "nobody@example.com", PASSWORD)),
    Case(
        "provider over its limit",
        "rate_limited",
        initiate_body(OVER_LIMIT, email_of(OVER_LIMIT), PASSWORD),
    ),
    Case(
        "reCAPTCHA failed",
        "recaptcha_failed",
        initiate_body(RIGHT, email_of(RIGHT), PASSWORD) | {"recaptchaToken": "fail"},
    ),
]


def seed_extra_licensees(settings: Settings, directory: Path) -> None:
    """Load this test's licensees into moto."""
    path = directory / "enumeration-licensees.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for number, p in enumerate((RIGHT, WRONG, MISMATCH), start=1):
            writer.writerow(
                [
                    p["providerId"],
                    p["compact"],
                    p["jurisdiction"],
                    p["licenseType"],
                    f"KY-LPC-{number}",
                    p["givenName"],
                    p["familyName"],
                    p["dob"],
                    p["partialSocial"],
                    "active",
                ]
            )
    seed_file(settings, path)


@pytest.fixture
def floored_app(aws: Settings, tmp_path: Path):  # noqa: ANN201 - the Connexion app
    """Registered providers (one already over its limit), and the app with floors on."""
    limits = {"recovery_initiate_limit": PER_CASE}
    seed_extra_licensees(aws, tmp_path)
    setup = World(aws.model_copy(update=limits))
    try:
        for person in (RIGHT, WRONG, MISMATCH, OVER_LIMIT):
            setup.person = person
            assert setup.register(email_of(person)).status_code == 200
            setup.set_password(email_of(person), PASSWORD)
        setup.person = OVER_LIMIT
        for _ in range(PER_CASE):  # uses up OVER_LIMIT's attempts for the hour
            assert setup.initiate(email_of(OVER_LIMIT), PASSWORD).status_code == 200
    finally:
        setup.close()
    # Production's argon2 cost: hashing the token of the "right password" case must not show.
    defaults = {
        name: Settings.model_fields[name].default
        for name in ("argon2_time_cost", "argon2_memory_cost_kib", "argon2_parallelism")
    }
    return create_app(aws.model_copy(update={"response_floors": "on", **limits, **defaults}))


def comparable_headers(answer: httpx.Response) -> list[tuple[str, str]]:
    """Every header in order; the date and the per-request id only by name (and the id's shape)."""
    headers = []
    for name, value in answer.headers.multi_items():
        if name.lower() in PER_REQUEST_HEADERS:
            assert PER_REQUEST_HEADERS[name.lower()].fullmatch(value), (name, value)
            value = "(per request)"
        headers.append((name.lower(), value))
    return headers


async def fire(app, requests: list[tuple[str, dict[str, str]]]):  # noqa: ANN001, ANN201
    """All requests at once; (case name, response, seconds) of each."""
    # Stamped on arrival as the server stamps requests: the floors hide the intake's order.
    transport = httpx.ASGITransport(app=stamped_on_arrival(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:

        async def one(name: str, body: dict[str, str]):  # noqa: ANN202
            started = time.monotonic()
            answer = await client.post("/v1/provider-users/initiateRecovery", json=body)
            return name, answer, time.monotonic() - started

        return await asyncio.gather(*(one(name, body) for name, body in requests))


def test_every_outcome_answers_the_same_bytes_headers_and_time(floored_app, caplog) -> None:
    # Given one provider per case, each case sent several times, interleaved
    requests = [(case.name, case.body) for case in CASES for _ in range(PER_CASE)]
    random.Random(20261124).shuffle(requests)
    caplog.set_level(logging.INFO, logger="provider_accounts.outcomes")

    # When they all arrive at once
    results = asyncio.run(fire(floored_app, requests))

    # Then every case went the way it was meant to
    outcomes = [getattr(r, "outcome", None) for r in caplog.records]
    for case in CASES:
        assert outcomes.count(case.outcome) == PER_CASE, (case.name, outcomes)
    # And every answer has the same status, bytes and headers
    reference = results[0][1]
    for name, answer, _ in results:
        assert answer.status_code == 200, name
        assert answer.content == reference.content, name
        assert comparable_headers(answer) == comparable_headers(reference), name
    assert reference.json() == {"message": "request processed"}
    # And none came before the floor, and the cases' median times are within 50 ms of each other
    seconds = {case.name: [s for n, _, s in results if n == case.name] for case in CASES}
    assert min(min(values) for values in seconds.values()) >= FLOOR_SECONDS
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    spread = max(medians.values()) - min(medians.values())
    print("median seconds:", {name: round(m, 4) for name, m in medians.items()}, "spread", spread)
    assert spread < MAX_MEDIAN_SPREAD_SECONDS, medians
