"""Does a right password show in the load initiateRecovery puts on the task? Side by side.

Usage (from the repository root; `make bench` runs it):

    .venv/bin/python -m bench.initiate_side_channel [--trials 12] [--probe-seconds 0.7]

initiateRecovery answers every outcome alike after its 5 s floor; its work runs in the
background. Only a right password leads to hashing the link's two secrets, and that CPU is
taken from the task's other requests. ECS gives a task one vCPU, so the app runs pinned to one
CPU here, moto and this client on the other. One initiate at a time, this bench counts how many
`GET /v1/public/jurisdictions/live` (no floor, no AWS) one keep-alive connection gets answered
in the next `--probe-seconds`: for a right password, a wrong one, and an email that is not the
registered one, interleaved, `--trials` each. Once with the service's argon2 settings, once
with argon2-cffi's defaults (64 MiB, t=3, p=4), which the service used before 2026-12-04.
Prints each case's counts, whether the right password's range stands apart from the others',
and a rank test (Mann-Whitney U) of the right password's counts against the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import statistics
import threading
import time
from pathlib import Path

import httpx

from bench.load import closed_loop
from bench.stack import (
    app_server,
    machine,
    moto_stack,
    registered_with_password,
    server_env,
    workdir,
)

EMAIL = "bench.avery@example.com"
PASSWORD = "Bench-Side-Channel-2026!"  # noqa: S105 - a throwaway user on a local moto
FACTS = {
    "givenName": "Avery",
    "familyName": "Lindqvist",
    "partialSocial": "4821",
    "dob": "1984-03-17",
    "jurisdiction": "oh",
    "licenseType": "audiologist",
    "compact": "aslp",
}
REGISTRATION = {**FACTS, "email": EMAIL, "token": "bench"}
CASES = {  # name -> (username, password) of the initiate
    "right password": (EMAIL, PASSWORD),
    "wrong password": (EMAIL, "Not-The-Password-2026!"),
    "other email": ("someone.else@example.com", PASSWORD),
}
PROFILES = {
    "service settings": {},
    "argon2-cffi defaults": {
        "ARGON2_TIME_COST": "3",
        "ARGON2_MEMORY_COST_KIB": "65536",
        "ARGON2_PARALLELISM": "4",
    },
}
APP_CPU, OTHERS_CPU = 1, 0
SETTLE_SECONDS = 1.0  # after a probe, for the background work to end before the next initiate


def pin(pid: int, cpu: int) -> None:
    """Every thread of `pid` on `cpu` (threads made later inherit it from their creator)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), {cpu})


def answered_while_initiating(url: str, case: str, probe_seconds: float) -> int:
    """Fire one initiate of `case`; how many probes are answered in the next `probe_seconds`."""
    username, password = CASES[case]
    body = {**FACTS, "username": username, "password": password, "recaptchaToken": "bench"}
    initiate = threading.Thread(
        target=httpx.post,
        args=(f"{url}/provider-users/initiateRecovery",),
        kwargs={"json": body, "timeout": 30},
    )
    initiate.start()
    time.sleep(0.02)  # the request is in; its background work starts
    probe = f"{url}/public/jurisdictions/live"
    run = asyncio.run(closed_loop(probe, {}, concurrency=1, seconds=probe_seconds, warmup=0))
    time.sleep(SETTLE_SECONDS)
    return run.ok


def measure(profile: str, args: argparse.Namespace) -> dict[str, list[int]]:
    """Counts per case for one argon2 profile, on a fresh moto and app."""
    work = workdir()
    settings = {"RECOVERY_INITIATE_LIMIT": "1000", "IP_RATE_LIMITS": "off", **PROFILES[profile]}
    with moto_stack() as stack:
        env = server_env(stack, work, **settings)
        with app_server("app", "wsgi:app", env, work) as server:
            registered_with_password(stack, server.url, REGISTRATION, PASSWORD)
            pin(stack.pid, OTHERS_CPU)
            for case in CASES:  # warm-up, uncounted: first requests build clients and caches
                answered_while_initiating(server.url, case, args.probe_seconds)
            counts: dict[str, list[int]] = {case: [] for case in CASES}
            order = list(CASES)
            for trial in range(args.trials):
                pin(server.process.pid, APP_CPU)
                shift = trial % len(order)
                for case in order[shift:] + order[:shift]:
                    counts[case].append(
                        answered_while_initiating(server.url, case, args.probe_seconds)
                    )
            outcomes = re.findall(r"outcome=(\w+)", server.log_file.read_text())
    overrides = ", ".join(f"{name}={value}" for name, value in PROFILES[profile].items())
    print(f"\n{profile} ({overrides or 'as set'})")
    logged = ", ".join(f"{o} {outcomes.count(o)}" for o in sorted(set(outcomes)))
    print(f"  outcomes logged: {logged}")
    for case, values in counts.items():
        print(
            f"  {case:15} {min(values):4}-{max(values):<4} median {statistics.median(values):6.1f}"
            f"   {sorted(values)}"
        )
    return counts


def rank_test_p(first: list[int], second: list[int]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, tied ranks averaged).

    An observer can repeat trials: ranges that overlap may still differ in where they sit.
    """
    pooled = sorted([(value, 0) for value in first] + [(value, 1) for value in second])
    ranks: list[float] = [0.0] * len(pooled)
    start = 0
    while start < len(pooled):
        end = start
        while end + 1 < len(pooled) and pooled[end + 1][0] == pooled[start][0]:
            end += 1
        for index in range(start, end + 1):
            ranks[index] = (start + end) / 2 + 1
        start = end + 1
    n1, n2 = len(first), len(second)
    u = sum(rank for rank, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u -= n1 * (n1 + 1) / 2
    spread = math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    z = (u - n1 * n2 / 2) / spread
    return math.erfc(abs(z) / math.sqrt(2))


def verdict(counts: dict[str, list[int]]) -> str:
    """Whether the right password's counts stand apart from, or sit apart within, the rest."""
    right = counts["right password"]
    others = [v for case, values in counts.items() if case != "right password" for v in values]
    p = rank_test_p(right, others)
    if max(right) < min(others) or min(right) > max(others):
        return f"SEPARABLE: the right password shows (ranges apart; rank test p={p:.2g})"
    if p < 0.05:
        return f"SHOWS ON AVERAGE: ranges overlap but rank test p={p:.2g}"
    return f"no difference found: ranges overlap, rank test p={p:.2f}"


def main(argv: list[str] | None = None) -> int:
    """Both profiles, side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--probe-seconds", type=float, default=0.7)
    args = parser.parse_args(argv)
    if len(os.sched_getaffinity(0)) < 2:
        parser.error("needs two CPUs: the app on one, moto and the client on the other")
    print("machine:", machine())
    os.sched_setaffinity(0, {OTHERS_CPU})
    results = {profile: measure(profile, args) for profile in PROFILES}
    print("\nprobes answered in the window after each initiate (fewer: the task was busier)")
    for profile, counts in results.items():
        print(f"  {profile:22} {verdict(counts)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
