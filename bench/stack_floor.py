"""What the stack alone costs per /me: the floor under issue 11's 2.5 ms of app CPU.

Usage (from the repository root):

    .venv/bin/python -m bench.stack_floor [--seconds 10] [--concurrency 16] [--rounds 4]

Three uvicorn processes, started alike, under the same closed loop as bench/throughput.py
(`--concurrency` keep-alive connections, `--seconds` after one second of warm-up):

- `flask`: a Flask view under a2wsgi (bench/stack_floor_apps.py);
- `connexion`: the same view as the one operation of a Connexion FlaskApp;
- `service`: this checkout's `GET /v1/provider-users/me` with a real moto ID token, on moto
  behind the read cache (bench/dynamodb_cache.py), as throughput measures it.

The two stand-ins answer with the service's own /me body, fetched once. In each round the
three run one after another, each round starting one further along, so the machine's drift
favours none. Prints every run, the medians of app CPU per request, and the service's share
above the Connexion floor (the median of the rounds' differences).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench.load import Run, closed_loop, quantile_ms
from bench.stack import ROOT, AppServer, app_server, cpu_seconds, machine, print_table, workdir
from bench.throughput import start, warm_up
from bench.throughput_report import TARGET_APP_CPU_MS

ENDPOINT = "/provider-users/me"
STAND_INS = {"flask": "flask_app", "connexion": "connexion_app"}
APPS = (*STAND_INS, "service")
STAND_IN_WARM_UP_SECONDS = 3.0


def stand_in(name: str, body: Path, work: Path, exits: ExitStack) -> AppServer:
    """One of bench/stack_floor_apps.py's apps on a uvicorn of its own."""
    env = {"PYTHONPATH": str(ROOT), "STACK_FLOOR_BODY": str(body)}
    target = f"bench.stack_floor_apps:{STAND_INS[name]}"
    return exits.enter_context(app_server(name, target, env, work))


def measure(name: str, server: AppServer, headers: dict[str, str], args: argparse.Namespace) -> Run:
    """One closed-loop run of /me against `server`, with the CPU its process spent."""
    url = f"{server.url}{ENDPOINT}"

    def cpu() -> dict[str, float]:
        return {"app": cpu_seconds(server.process.pid)}

    run = asyncio.run(closed_loop(url, headers, args.concurrency, args.seconds, 1.0, cpu))
    run.label = name
    return run


def report(runs: list[Run], args: argparse.Namespace) -> None:
    """Every run, the medians per app, and the service's share above the Connexion floor."""
    print(
        f"\nstack floor: GET /v1{ENDPOINT}, {args.rounds} rounds, closed loop of"
        f" {args.concurrency} keep-alive connections, {args.seconds:.0f} s per run\n"
    )
    print_table(
        ["round", "app", "200s", "errors", "req/s", "p50 ms", "p99 ms", "app CPU ms/req"],
        [
            [
                str(run.round),
                run.label,
                str(run.ok),
                str(run.failed),
                f"{run.rate:.0f}",
                quantile_ms(run.latencies, 0.50),
                quantile_ms(run.latencies, 0.99),
                f"{run.cpu_ms('app'):.2f}",
            ]
            for run in runs
        ],
    )
    cpu = {name: [run.cpu_ms("app") for run in runs if run.label == name] for name in APPS}
    above = [
        service - floor for service, floor in zip(cpu["service"], cpu["connexion"], strict=True)
    ]
    print()
    medians = ", ".join(f"{name} {statistics.median(cpu[name]):.2f} ms" for name in APPS)
    print(f"app CPU per request, medians of the rounds: {medians}")
    floor = statistics.median(cpu["connexion"])
    print(
        f"the service above the Connexion floor, median of the rounds: "
        f"{statistics.median(above):.2f} ms; the floor alone is {floor / TARGET_APP_CPU_MS:.0%}"
        f" of issue 11's {TARGET_APP_CPU_MS} ms"
    )


def main(argv: list[str] | None = None) -> int:
    """Start the three apps, measure them in rotating order, print the runs and the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    work = workdir()
    runs: list[Run] = []
    with ExitStack() as exits:
        service = start("service", ROOT, work, True, exits)
        body = work / "profile.json"
        answer = httpx.get(f"{service.server.url}{ENDPOINT}", headers=service.bearer, timeout=30)
        body.write_bytes(answer.raise_for_status().content)
        servers = {name: stand_in(name, body, work, exits) for name in STAND_INS}
        servers["service"] = service.server
        headers: dict[str, dict[str, str]] = {name: {} for name in STAND_INS}
        headers["service"] = service.bearer
        print(f"machine: {', '.join(f'{k} {v}' for k, v in machine().items())}", flush=True)
        warm_up(service, args)
        warm = argparse.Namespace(concurrency=args.concurrency, seconds=STAND_IN_WARM_UP_SECONDS)
        for name in STAND_INS:
            measure(name, servers[name], headers[name], warm)  # uncounted
        for number in range(args.rounds):
            for name in APPS[number % len(APPS) :] + APPS[: number % len(APPS)]:
                runs.append(measure(name, servers[name], headers[name], args))
                runs[-1].round = number + 1
    report(runs, args)
    print(f"logs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
