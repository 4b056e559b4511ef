"""GET /v1/provider-users/me: requests per second and app CPU, today's code beside a baseline.

Usage (from the repository root; `make bench` runs it):

    .venv/bin/python -m bench.throughput [--seconds 10] [--concurrency 16] [--rounds 4]
        [--baseline fe187ba] [--dynamodb cached|moto]

Two servers, each one `uvicorn wsgi:app` process on a moto stack of its own, seeded alike:
this checkout (uncommitted changes included), and `--baseline` (default fe187ba, the code
before issue 11, whose /me made three DynamoDB reads). Floors on, per-IP limits off (neither
operation has a floor). On each, a demo licensee registers through the API, gets a permanent
password (AdminSetUserPassword) and signs in (AdminInitiateAuth): its real moto ID token is the
bearer of every /me. After five seconds of /me on each, uncounted, come `--rounds` rounds of
/health and /me on both, today's code first in odd rounds and the baseline first in even
ones: each run a closed loop of `--concurrency` keep-alive connections for `--seconds` after
one second of warm-up (bench/load.py). This machine's speed drifts, by up to twice within
minutes, so the two codes are compared round by round (bench/throughput_report.py).

`--dynamodb cached` (the default) puts bench/dynamodb_cache.py in front of each moto: a repeated
read is answered with moto's own earlier answer, so the bench measures the service rather than
moto, whose CPU per Query is more than the service's whole request. `--dynamodb moto` is moto
alone, sharing the two cores, as the bench was before.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx

from bench.baseline import checkout
from bench.load import Run, closed_loop
from bench.stack import (
    ROOT,
    AppServer,
    MotoStack,
    app_server,
    cache_stats,
    cpu_seconds,
    machine,
    moto_stack,
    registered_with_password,
    server_env,
    workdir,
)
from bench.throughput_report import report
from handlers.app import create_app

# The code before the profile became one Query (issue 11).
BASELINE = "fe187ba"
EMAIL = "bench.avery@example.com"
PASSWORD = "Bench-Throughput-2026!"  # noqa: S105 - a throwaway user on a local moto
REGISTRATION = {
    "givenName": "Avery",
    "familyName": "Lindqvist",
    "email": EMAIL,
    "partialSocial": "4821",
    "dob": "1984-03-17",
    "jurisdiction": "oh",
    "licenseType": "audiologist",
    "compact": "aslp",
    "token": "bench",
}
ENDPOINTS = ("/health", "/provider-users/me")
WARM_UP_SECONDS = 5.0


@dataclass
class Subject:
    """One code base under test: its server, its stack and the bearer of its /me."""

    label: str
    server: AppServer
    stack: MotoStack
    bearer: dict[str, str]

    def pids(self) -> dict[str, int]:
        """The server processes whose CPU a run counts (with their children: moto's worker)."""
        pids = {"app": self.server.process.pid, "moto": self.stack.pid}
        if self.stack.cache_pid is not None:
            pids["cache"] = self.stack.cache_pid
        return pids


def id_token(stack: MotoStack, server: AppServer) -> str:
    """Register through the API, set a permanent password, sign in: the real ID token."""
    idp = registered_with_password(stack, server.url, REGISTRATION, PASSWORD)
    settings = stack.settings
    signed_in = idp.admin_initiate_auth(
        UserPoolId=settings.user_pool_id,
        ClientId=settings.user_pool_client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": EMAIL, "PASSWORD": PASSWORD},
    )
    return str(signed_in["AuthenticationResult"]["IdToken"])


def dynamodb_calls_of_one_profile(
    stack: MotoStack, bearer: dict[str, str], work: Path
) -> list[str]:
    """The DynamoDB requests one /me sends, seen leaving an in-process app on the same stack."""
    calls: list[str] = []

    def record(request: Any, **_: Any) -> None:
        target = request.headers["X-Amz-Target"]
        calls.append((target.decode() if isinstance(target, bytes) else target).rsplit(".")[-1])

    session = boto3.session.Session()
    session.events.register("before-send.dynamodb", record)
    settings = stack.settings.model_copy(update={"outbox_dir": work / "outbox"})
    with create_app(settings, session=session).test_client() as client:
        client.get("/v1/provider-users/me", headers=bearer).raise_for_status()
    return calls


def start(label: str, code: Path, work: Path, read_cache: bool, exits: ExitStack) -> Subject:
    """A stack and a server of the code in `code` (stopped by `exits`), and a licensee's bearer."""
    stack = exits.enter_context(moto_stack(read_cache))
    env = server_env(stack, work, code, response_floors="on", ip_rate_limits="off")
    server = exits.enter_context(app_server(label, "wsgi:app", env, work, code))
    bearer = {"Authorization": f"Bearer {id_token(stack, server)}"}
    httpx.get(f"{server.url}/provider-users/me", headers=bearer, timeout=30).raise_for_status()
    return Subject(label, server, stack, bearer)


def measure(who: Subject, endpoint: str, args: argparse.Namespace) -> Run:
    """One closed-loop run, with the CPU each process spent while its requests were counted."""
    headers = who.bearer if endpoint != "/health" else {}
    pids = who.pids()

    def cpu() -> dict[str, float]:
        spent = {name: cpu_seconds(pid) for name, pid in pids.items()}
        spent["client"] = time.process_time()  # this process alone, not the servers it started
        return spent

    url = f"{who.server.url}{endpoint}"
    run = asyncio.run(closed_loop(url, headers, args.concurrency, args.seconds, 1.0, cpu))
    run.label = who.label
    return run


def warm_up(who: Subject, args: argparse.Namespace) -> None:
    """Load /me for WARM_UP_SECONDS, uncounted: one-off costs stay out of the figures.

    The baseline builds a DynamoDB resource per worker thread on its first use (~0.5 s each on
    this machine); counted, they made its /me look five times as costly as it is.
    """
    asyncio.run(
        closed_loop(
            f"{who.server.url}/provider-users/me", who.bearer, args.concurrency, WARM_UP_SECONDS, 0
        )
    )


def requests_per_profile(who: Subject) -> float | None:
    """DynamoDB requests the read cache received per /me of one short run (None without it)."""
    if who.stack.cache_pid is None:
        return None
    before = cache_stats(who.stack)["received"]
    url = f"{who.server.url}/provider-users/me"
    with httpx.Client(headers=who.bearer, timeout=30) as client:
        for _ in range(20):
            client.get(url).raise_for_status()
    after = cache_stats(who.stack)["received"]
    dynamodb = [target for target in after if target.startswith("DynamoDB")]
    return sum(after[t] - before.get(t, 0) for t in dynamodb) / 20


def main(argv: list[str] | None = None) -> int:
    """Measure both code bases, alternating, and print every run, the summary and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--dynamodb", choices=("cached", "moto"), default="cached")
    args = parser.parse_args(argv)
    work = workdir()
    read_cache = args.dynamodb == "cached"
    runs: list[Run] = []
    round_trips: dict[str, float | None] = {}
    with ExitStack() as exits:
        today = start("today", ROOT, work, read_cache, exits)
        before = start("baseline", checkout(args.baseline), work, read_cache, exits)
        print(f"machine: {', '.join(f'{k} {v}' for k, v in machine().items())}", flush=True)
        for who in (today, before):
            warm_up(who, args)
            round_trips[who.label] = requests_per_profile(who)
        for number in range(args.rounds):
            # ABBA: each code goes first in every other round, so a drift favours neither.
            for who in (today, before) if number % 2 == 0 else (before, today):
                for endpoint in ENDPOINTS:
                    runs.append(measure(who, endpoint, args))
                    runs[-1].round = number + 1
        calls = dynamodb_calls_of_one_profile(today.stack, today.bearer, work)
    report(runs, args, round_trips, calls)
    print(f"logs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
