"""500 initiateRecovery requests at once: the 5 s floor on the event loop vs. a sleeping handler.

Usage (from the repository root; `make bench` runs it):

    .venv/bin/python -m bench.floor_burst [--requests 500] [--baseline-timeout 320]
                                          [--skip-baseline]

Starts moto (bench/stack.py) and, one after the other, three servers on it, per-IP limits off:

- "asyncio floor": one uvicorn process of `wsgi:app` with RESPONSE_FLOORS=on, the service as it
  ships: the floor is an asyncio.sleep in an ASGI middleware, holding no worker thread;
- "gunicorn": the production command (gunicorn.conf.py, uvicorn workers), WEB_CONCURRENCY=2;
- "sleep in handler": `bench.baseline_app:app` with RESPONSE_FLOORS=off and the handler
  wrapped in a time.sleep up to the floor, holding one of the 10 worker threads per request.

Against each in turn it fires the burst (requests whose license facts match nothing), each
request on a raw socket of its own, and meanwhile samples
GET /v1/health every 50 ms from another process (each sample its own request, sent when due,
60 s timeout; a failure counts as slower than the timeout). It
prints the burst's wall time and health latency percentiles. Targets: all requests answered
within 6.5 s; one process keeps every health sample under 1 s; gunicorn with two workers keeps
the health p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import statistics
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx

from bench.stack import (
    AppServer,
    app_server,
    cpu_seconds,
    gunicorn_server,
    machine,
    moto_stack,
    print_table,
    server_env,
    workdir,
)

INITIATE = {
    "username": "nobody@example.com",
    "password": "Not-the-password-1",
    "compact": "aslp",
    "jurisdiction": "oh",
    "givenName": "No",
    "familyName": "Body",
    "dob": "1970-01-01",
    "partialSocial": "0000",
    "licenseType": "audiologist",
    "recaptchaToken": "ok",
}
FLOOR_SECONDS = 5.0
TARGET_WALL_SECONDS = 6.5
TARGET_HEALTH_P99_MS = 100.0  # the production configuration (gunicorn, 2 workers)
TARGET_HEALTH_MAX_MS = 1000.0  # one process: every sample
GUNICORN_WORKERS = 2
HEALTH_INTERVAL_SECONDS = 0.05
HEALTH_TIMEOUT_SECONDS = 60.0


@dataclass
class Burst:
    """What one burst measured."""

    name: str
    statuses: list[int] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    wall: float = 0.0
    health_ms: list[float] = field(default_factory=list)
    health_failures: int = 0
    cpu: dict[str, float] = field(default_factory=dict)


def milliseconds(value: float) -> str:
    """A latency for the table; a failed or timed-out sample shows as over the timeout."""
    return f">{HEALTH_TIMEOUT_SECONDS * 1000:.0f}" if math.isinf(value) else f"{value:.1f}"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


class HealthSampler:
    """GET /health every interval, each sample its own request, from a process of its own.

    Samples never wait for each other or for a client pool: each goes out when it is due, on
    a connection of its own if need be. The sampler is its own process because a thread of
    the burst's process would wait for that process's GIL while the burst client builds its
    500 requests, and that wait would count as the server's.
    """

    def __init__(self, url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.latencies_ms: list[float] = []
        self.failures = 0
        self._ready = context.Event()
        self._stop = context.Event()
        self._results: multiprocessing.Queue[list[float]] = context.Queue()
        self._process = context.Process(
            target=_sample_health, args=(url, self._ready, self._stop, self._results), daemon=True
        )

    def start(self) -> None:
        """Start sampling; return once the first sample has gone out."""
        self._process.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("the health sampler did not start")

    def stop(self) -> None:
        """Stop sampling and collect the samples (those in flight wait up to the timeout)."""
        self._stop.set()
        self.latencies_ms = self._results.get(timeout=HEALTH_TIMEOUT_SECONDS + 30)
        self.failures = sum(1 for value in self.latencies_ms if math.isinf(value))
        self._process.join(timeout=10)


def _sample_health(url: str, ready: Any, stop: Any, results: Any) -> None:
    """The sampler process: sample until `stop`, then put the latencies (ms) on `results`."""
    results.put(asyncio.run(_sample_until(url, ready, stop)))


async def _sample_until(url: str, ready: Any, stop: Any) -> list[float]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def sample() -> float:
            started = time.monotonic()
            try:
                async with session.get(url) as answer:
                    await answer.read()
                    if answer.status == 200:
                        return (time.monotonic() - started) * 1000
            except (aiohttp.ClientError, TimeoutError):
                pass
            return math.inf  # a failure counts as slower than the timeout

        samples = []
        next_at = time.monotonic()
        while not stop.is_set():
            samples.append(asyncio.create_task(sample()))
            ready.set()
            next_at += HEALTH_INTERVAL_SECONDS
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        return list(await asyncio.gather(*samples))


async def _fire(url: str, requests: int, timeout: float) -> tuple[list[int], list[float], float]:
    # Raw sockets rather than an HTTP client library: aiohttp cost ~5 ms of client CPU a
    # request (httpx ~11 ms), so on two cores the load generator took more CPU than the server
    # and its share of the cores, not the server, set the figures.
    address = urlsplit(url)
    body = json.dumps(INITIATE).encode()
    request = (
        f"POST {address.path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body

    async def one() -> tuple[int, float]:
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(address.hostname, address.port)
                try:
                    writer.write(request)
                    status_line = await reader.readline()
                    await reader.read()
                finally:
                    writer.close()
            status = int(status_line.split()[1])
        except (OSError, TimeoutError, IndexError, ValueError):
            status = 0
        return status, time.monotonic() - started

    started = time.monotonic()
    answers = await asyncio.gather(*(one() for _ in range(requests)))
    wall = time.monotonic() - started
    return [s for s, _ in answers], [d for _, d in answers], wall


def burst(name: str, server: AppServer, moto_pid: int, requests: int, timeout: float) -> Burst:
    """One warm-up request, then the burst with health sampled alongside."""
    api_url = server.url
    httpx.post(f"{api_url}/provider-users/initiateRecovery", json=INITIATE, timeout=30)
    pids = {"app": server.process.pid, "moto": moto_pid}
    before = {who: cpu_seconds(pid) for who, pid in pids.items()}
    # This process alone: cpu_seconds counts live children, and the servers are its children.
    client_before = time.process_time()
    sampler = HealthSampler(f"{api_url}/health")
    sampler.start()
    try:
        statuses, durations, wall = asyncio.run(
            _fire(f"{api_url}/provider-users/initiateRecovery", requests, timeout)
        )
    finally:
        sampler.stop()
    cpu = {who: cpu_seconds(pid) - before[who] for who, pid in pids.items()}
    cpu["client"] = time.process_time() - client_before
    return Burst(name, statuses, durations, wall, sampler.latencies_ms, sampler.failures, cpu)


def main(argv: list[str] | None = None) -> int:
    """Run both bursts and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument(
        "--baseline-timeout",
        type=float,
        default=320.0,
        help="client timeout of a baseline request (10 threads x 5 s: 500 take ~250 s)",
    )
    parser.add_argument(
        "--skip-baseline",
        action="store_true",
        help="leave out the sleeping baseline (its figures do not change with our code)",
    )
    args = parser.parse_args(argv)
    work = workdir()
    common = {"ip_rate_limits": "off"}
    results: list[Burst] = []
    with moto_stack() as stack:
        env = server_env(stack, work, response_floors="on", **common)
        with app_server("asyncio-floor", "wsgi:app", env, work) as server:
            results.append(
                burst("asyncio floor (wsgi:app)", server, stack.pid, args.requests, 60.0)
            )
        with gunicorn_server("gunicorn", env, work, GUNICORN_WORKERS) as server:
            results.append(
                burst(
                    f"gunicorn, WEB_CONCURRENCY={GUNICORN_WORKERS}",
                    server,
                    stack.pid,
                    args.requests,
                    60.0,
                )
            )
        if not args.skip_baseline:
            env = server_env(stack, work, response_floors="off", **common)
            with app_server("sleep-baseline", "bench.baseline_app:app", env, work) as server:
                results.append(
                    burst(
                        "sleep in handler (baseline)",
                        server,
                        stack.pid,
                        args.requests,
                        args.baseline_timeout,
                    )
                )

    print(f"\nfloor_burst: {args.requests} concurrent initiateRecovery (no match), floor 5 s")
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()) + "\n")
    rows = []
    for r in results:
        ok = sum(1 for s in r.statuses if s == 200)
        health = r.health_ms or [math.nan]
        rows.append(
            [
                r.name,
                f"{ok}/{len(r.statuses)}",
                f"{r.wall:.2f}",
                f"{min(r.durations):.2f}",
                f"{statistics.median(r.durations):.2f}",
                f"{max(r.durations):.2f}",
                str(len(r.health_ms)),
                str(r.health_failures),
                milliseconds(percentile(health, 0.50)),
                milliseconds(percentile(health, 0.99)),
                milliseconds(max(health)),
                " / ".join(f"{r.cpu[who]:.2f}" for who in ("app", "moto", "client")),
            ]
        )
    print_table(
        [
            "server",
            "200s",
            "burst wall s",
            "min s",
            "median s",
            "max s",
            "health samples",
            "health failed",
            "health p50 ms",
            "health p99 ms",
            "health max ms",
            "CPU s app / moto / client",
        ],
        rows,
    )
    floor, gunicorn = results[0], results[1]
    print()
    for r in (floor, gunicorn):
        all_ok = all(s == 200 for s in r.statuses)
        wall_ok = all_ok and r.wall <= TARGET_WALL_SECONDS
        print(
            f"target: all {args.requests} within {TARGET_WALL_SECONDS} s ({r.name}): "
            f"{'PASS' if wall_ok else 'FAIL'} ({r.wall:.2f} s)"
        )
    worst = max(floor.health_ms) if floor.health_ms else math.inf
    max_ok = worst < TARGET_HEALTH_MAX_MS and floor.health_failures == 0
    print(
        f"target: every health sample < {TARGET_HEALTH_MAX_MS:.0f} ms, one process: "
        f"{'PASS' if max_ok else 'FAIL'} (max {milliseconds(worst)} ms)"
    )
    p99 = percentile(gunicorn.health_ms, 0.99) if gunicorn.health_ms else math.inf
    p99_ok = p99 < TARGET_HEALTH_P99_MS and gunicorn.health_failures == 0
    print(
        f"target: health p99 < {TARGET_HEALTH_P99_MS:.0f} ms, gunicorn with "
        f"{GUNICORN_WORKERS} workers: {'PASS' if p99_ok else 'FAIL'} ({milliseconds(p99)} ms)"
    )
    print(f"logs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
