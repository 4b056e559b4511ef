"""A closed-loop load generator on raw keep-alive sockets: the client costs the cores little.

Each of `concurrency` connections sends its next request as soon as the last answer is in.
An HTTP client library spends more CPU per request than the service's lighter endpoints
(aiohttp ~1-5 ms here), on the same two cores as the server; this one writes a fixed request
and reads the answer by its Content-Length, about a tenth of that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Run:
    """One closed-loop run against one URL."""

    label: str
    endpoint: str
    seconds: float
    round: int = 0
    ok: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds

    def cpu_ms(self, who: str) -> float:
        """CPU milliseconds `who` spent per successful request."""
        return self.cpu.get(who, 0.0) / max(1, self.ok) * 1000


def request_bytes(url: str, headers: dict[str, str]) -> bytes:
    """A keep-alive GET of `url` with `headers`, as sent on the wire."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_answer(reader: asyncio.StreamReader) -> int:
    """Read one answer off the connection; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def closed_loop(
    url: str,
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    warmup: float,
    cpu: Callable[[], dict[str, float]] | None = None,
) -> Run:
    """`concurrency` connections for `warmup` + `seconds`; only the last `seconds` count.

    A request counts when its answer arrives within those seconds. `cpu` (CPU seconds so far,
    by process) is read as they begin and end: `run.cpu` is what each spent in the same window
    as the requests counted, not during the warm-up or the last answers after it.
    """
    parts = urlsplit(url)
    wire = request_bytes(url, headers)
    run = Run(url, parts.path, seconds)
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    async def window() -> None:
        if cpu is None:
            return
        await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
        first = cpu()
        await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
        run.cpu = {who: spent - first[who] for who, spent in cpu().items()}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while (sent := time.monotonic()) < stop_at:
                writer.write(wire)
                try:
                    ok = await _read_answer(reader) == 200
                except (asyncio.IncompleteReadError, ConnectionError):
                    ok = False
                    writer.close()
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                done = time.monotonic()
                if measure_from <= done <= stop_at:
                    run.latencies.append(done - sent)
                    run.ok += ok
                    run.failed += not ok
        finally:
            writer.close()

    await asyncio.gather(window(), *(connection() for _ in range(concurrency)))
    return run


def quantile_ms(values: list[float], fraction: float) -> str:
    """Nearest-rank quantile in milliseconds."""
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000:.1f}"
