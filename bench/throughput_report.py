"""What bench/throughput.py prints: every run, each round's pair side by side, and the targets.

The two codes are compared round by round: the ratio of each round's pair, taken minutes
apart at most, and then the median of those ratios. Medians of each code's own runs would
pair a run of a fast minute with one of a slow minute.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess

from bench.load import Run, quantile_ms
from bench.stack import ROOT, print_table

# Issue 11's targets: app CPU at most 2.5 ms per /me (from ~6.4 ms, a 2.56x cut, on the machine
# of the day) and 3x the requests per second on the same bench.
TARGET_APP_CPU_MS = 2.5
ISSUE_APP_CPU_MS = 6.4
TARGET_RATE_FACTOR = 3.0
CPU_OF = ("app", "moto", "cache", "client")


def describe(revision: str) -> str:
    """The revision's short hash and subject line."""
    return subprocess.run(  # noqa: S603
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s", revision],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def report(
    runs: list[Run],
    args: argparse.Namespace,
    round_trips: dict[str, float | None],
    calls: list[str],
) -> None:
    """The table of runs, the pairs of /me runs round by round, and the targets."""
    print(
        f"\nthroughput: today ({describe('HEAD')}, with any uncommitted changes) beside the"
        f" baseline ({describe(args.baseline)}); {args.rounds} rounds, closed loop of"
        f" {args.concurrency} keep-alive connections, {args.seconds:.0f} s per run; one uvicorn"
        f" process each; DynamoDB: {args.dynamodb}\n"
    )
    print_table(
        ["round", "code", "endpoint", "200s", "errors", "req/s", "p50 ms", "p99 ms"]
        + ["CPU ms/req " + " / ".join(CPU_OF)],
        [
            [
                str(run.round),
                run.label,
                f"GET {run.endpoint}",
                str(run.ok),
                str(run.failed),
                f"{run.rate:.0f}",
                quantile_ms(run.latencies, 0.50),
                quantile_ms(run.latencies, 0.99),
                " / ".join(f"{run.cpu_ms(who):.2f}" for who in CPU_OF),
            ]
            for run in runs
        ],
    )
    pairs = profile_pairs(runs)
    print()
    print_table(
        ["round", "/me req/s today / baseline", "ratio", "app CPU ms today / baseline", "ratio"],
        [
            [
                str(today.round),
                f"{today.rate:.0f} / {base.rate:.0f}",
                f"{today.rate / base.rate:.2f}x",
                f"{today.cpu_ms('app'):.2f} / {base.cpu_ms('app'):.2f}",
                f"{base.cpu_ms('app') / today.cpu_ms('app'):.2f}x",
            ]
            for today, base in pairs
        ],
    )
    print(
        "DynamoDB requests per /me, counted by the read cache: "
        + ", ".join(
            f"{who} {'-' if count is None else f'{count:.1f}'}"
            for who, count in round_trips.items()
        )
    )
    print()
    targets(pairs, calls)


def profile_pairs(runs: list[Run]) -> list[tuple[Run, Run]]:
    """(today's, the baseline's) /me run of each round."""
    profile = [run for run in runs if run.endpoint.endswith("/me")]
    today = {run.round: run for run in profile if run.label == "today"}
    base = {run.round: run for run in profile if run.label == "baseline"}
    return [(today[number], base[number]) for number in sorted(today)]


def targets(pairs: list[tuple[Run, Run]], calls: list[str]) -> None:
    """PASS or FAIL for each of issue 11's targets on this bench."""
    verdict = {True: "PASS", False: "FAIL"}
    cpu = statistics.median(today.cpu_ms("app") for today, _ in pairs)
    base_cpu = statistics.median(base.cpu_ms("app") for _, base in pairs)
    cut = statistics.median(base.cpu_ms("app") / today.cpu_ms("app") for today, base in pairs)
    factor = statistics.median(today.rate / base.rate for today, base in pairs)
    wanted_cut = ISSUE_APP_CPU_MS / TARGET_APP_CPU_MS
    print(f"target: /me one DynamoDB round trip: {verdict[calls == ['Query']]} ({calls})")
    print(
        f"target: app CPU per /me <= {TARGET_APP_CPU_MS} ms: {verdict[cpu <= TARGET_APP_CPU_MS]}"
        f" ({cpu:.2f} ms; the baseline's {base_cpu:.2f} ms; medians of the rounds)"
    )
    print(
        f"        side by side, {wanted_cut:.2f}x below the baseline (2.5 from ~6.4 ms): "
        f"{verdict[cut >= wanted_cut]} ({cut:.2f}x, the median of the rounds' ratios)"
    )
    print(
        f"target: /me >= {TARGET_RATE_FACTOR:.0f}x the baseline's req/s on the same bench: "
        f"{verdict[factor >= TARGET_RATE_FACTOR]} ({factor:.2f}x, the median of the rounds' ratios)"
    )
