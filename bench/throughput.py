"""Requests per second of GET /v1/provider-users/me against GET /v1/health, same server, same run.

Usage (from the repository root; `make bench` runs it):

    .venv/bin/python -m bench.throughput [--seconds 10] [--concurrency 16]

Starts moto (bench/stack.py) and one `uvicorn wsgi:app` process on it with the settings of
bench/floor_burst.py's floored server (floors on, per-IP limits off; neither operation has a
floor). A demo licensee registers through the API, its user gets a permanent password
(AdminSetUserPassword) and signs in (AdminInitiateAuth), and its real moto ID token is the
bearer of every /me request. Each endpoint then gets a closed loop of `--concurrency`
aiohttp clients for `--seconds` (after a one-second warm-up), health first, then /me, then
both again; the table shows each run and the ratio of /me to health.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import boto3
import httpx

from bench.stack import (
    AppServer,
    MotoStack,
    app_server,
    cpu_seconds,
    machine,
    moto_stack,
    print_table,
    server_env,
    workdir,
)
from handlers.app import create_app

# The figures before the profile became one Query (docs/BENCHMARKS.md, same bench): /me made
# 107 req/s at ~6.4 ms of app CPU a request. Targets: 3x the rate, at most 2.5 ms of CPU.
BEFORE_ME_RATE = 107.0
TARGET_RATE_FACTOR = 3.0
TARGET_APP_CPU_MS = 2.5
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


@dataclass
class Run:
    """One closed-loop run against one endpoint."""

    endpoint: str
    seconds: float
    ok: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds


def id_token(stack: MotoStack, server: AppServer) -> str:
    """Register through the API, set a permanent password, sign in: the real ID token."""
    answer = httpx.post(f"{server.url}/provider-users/registration", json=REGISTRATION, timeout=30)
    answer.raise_for_status()
    settings = stack.settings
    idp = boto3.client(
        "cognito-idp", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    )
    idp.admin_set_user_password(
        UserPoolId=settings.user_pool_id, Username=EMAIL, Password=PASSWORD, Permanent=True
    )
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
    """The DynamoDB operations one /me makes, counted on an in-process app on the same stack."""
    calls: list[str] = []
    session = boto3.session.Session()
    session.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    settings = stack.settings.model_copy(update={"outbox_dir": work / "outbox"})
    with create_app(settings, session=session).test_client() as client:
        client.get("/v1/provider-users/me", headers=bearer).raise_for_status()
    return calls


async def closed_loop(
    url: str, headers: dict[str, str], concurrency: int, seconds: float, warmup: float
) -> Run:
    """`concurrency` clients, each sending its next request as soon as the last one answered."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    run = Run(url, seconds)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        start = time.monotonic()
        measure_from, stop_at = start + warmup, start + warmup + seconds

        async def client() -> None:
            while (now := time.monotonic()) < stop_at:
                try:
                    async with session.get(url) as answer:
                        await answer.read()
                        ok = answer.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                done = time.monotonic()
                if now >= measure_from and done <= stop_at:
                    run.latencies.append(done - now)
                    if ok:
                        run.ok += 1
                    else:
                        run.failed += 1

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return run


def measure(
    endpoint: str,
    server: AppServer,
    moto_pid: int,
    headers: dict[str, str],
    args: argparse.Namespace,
) -> Run:
    """One run, with the CPU time each process spent during it."""
    pids = {"app": server.process.pid, "moto": moto_pid, "client": os.getpid()}
    before = {who: cpu_seconds(pid) for who, pid in pids.items()}
    run = asyncio.run(
        closed_loop(f"{server.url}{endpoint}", headers, args.concurrency, args.seconds, 1.0)
    )
    run.endpoint = endpoint
    run.cpu = {who: cpu_seconds(pid) - before[who] for who, pid in pids.items()}
    return run


def quantile_ms(values: list[float], fraction: float) -> str:
    """Nearest-rank quantile in milliseconds."""
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000:.1f}"


def cpu_per_request(run: Run) -> str:
    """CPU milliseconds per successful request of the app and of moto."""
    return " / ".join(f"{run.cpu[who] / max(1, run.ok) * 1000:.2f}" for who in ("app", "moto"))


def main(argv: list[str] | None = None) -> int:
    """Measure health and /me twice each and print the table and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    work = workdir()
    runs: list[Run] = []
    with moto_stack() as stack:
        env = server_env(stack, work, response_floors="on", ip_rate_limits="off")
        with app_server("throughput", "wsgi:app", env, work) as server:
            bearer = {"Authorization": f"Bearer {id_token(stack, server)}"}
            me = httpx.get(f"{server.url}/provider-users/me", headers=bearer, timeout=30)
            me.raise_for_status()
            for _ in range(2):
                runs.append(measure("/health", server, stack.pid, {}, args))
                runs.append(measure("/provider-users/me", server, stack.pid, bearer, args))
        calls = dynamodb_calls_of_one_profile(stack, bearer, work)

    print(
        f"\nthroughput: closed loop, {args.concurrency} clients, {args.seconds:.0f} s per run, "
        "one uvicorn process (10 worker threads), floors on, IP limits off"
    )
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()) + "\n")
    print_table(
        ["run", "endpoint", "200s", "errors", "req/s", "p50 ms", "p99 ms", "CPU ms/req app / moto"],
        [
            [
                str(number),
                f"GET /v1{run.endpoint}",
                str(run.ok),
                str(run.failed),
                f"{run.rate:.0f}",
                quantile_ms(run.latencies, 0.50),
                quantile_ms(run.latencies, 0.99),
                cpu_per_request(run),
            ]
            for number, run in enumerate(runs, start=1)
        ],
    )
    health = sum(r.rate for r in runs if r.endpoint == "/health") / 2
    profile = sum(r.rate for r in runs if r.endpoint != "/health") / 2
    print(f"\n/me {profile:.0f} req/s vs /health {health:.0f} req/s: ratio {profile / health:.2f}")
    me_runs = [r for r in runs if r.endpoint != "/health"]
    app_cpu_ms = sum(r.cpu["app"] for r in me_runs) / max(1, sum(r.ok for r in me_runs)) * 1000
    print()
    print(
        f"target: /me one DynamoDB round trip: {'PASS' if len(calls) == 1 else 'FAIL'} "
        f"({len(calls)}: {', '.join(calls)})"
    )
    print(
        f"target: app CPU per /me <= {TARGET_APP_CPU_MS} ms: "
        f"{'PASS' if app_cpu_ms <= TARGET_APP_CPU_MS else 'FAIL'} ({app_cpu_ms:.2f} ms)"
    )
    target_rate = TARGET_RATE_FACTOR * BEFORE_ME_RATE
    print(
        f"target: /me >= {TARGET_RATE_FACTOR:.0f}x {BEFORE_ME_RATE:.0f} req/s: "
        f"{'PASS' if profile >= target_rate else 'FAIL'} ({profile:.0f} req/s, "
        f"{profile / BEFORE_ME_RATE:.1f}x)"
    )
    print(f"logs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
