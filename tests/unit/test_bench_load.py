"""The benches' closed loop: CPU and requests are counted over the same seconds."""

from __future__ import annotations

import asyncio
import time

from bench.load import closed_loop

ANSWER_DELAY = 0.02


async def answer_slowly(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """HTTP/1.1 keep-alive: each request answered ANSWER_DELAY seconds after it arrives."""
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(ANSWER_DELAY)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def test_cpu_is_read_at_the_edges_of_the_counted_seconds() -> None:
    async def run_it() -> tuple[float, int, int, int]:
        server = await asyncio.start_server(answer_slowly, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        clock_reads: list[float] = []

        def clock() -> dict[str, float]:
            clock_reads.append(time.monotonic())
            return {"clock": clock_reads[-1]}

        async with server:
            run = await closed_loop(
                f"http://127.0.0.1:{port}/x", {}, 2, seconds=0.6, warmup=0.4, cpu=clock
            )
        return run.cpu["clock"], run.ok, run.failed, len(clock_reads)

    window, ok, failed, reads = asyncio.run(run_it())
    # Read twice, 0.6 s apart: neither the warm-up nor the answers after the end are in it.
    assert reads == 2
    assert 0.5 <= window <= 0.8  # a busy machine may wake the reads a little late
    # Two connections, one answer every ANSWER_DELAY each: at most 60 answers in the window,
    # and about 40 more if the warm-up's counted.
    assert 20 <= ok <= 62
    assert failed == 0


def test_without_a_cpu_reader_no_cpu_is_reported() -> None:
    async def run_it() -> dict[str, float]:
        server = await asyncio.start_server(answer_slowly, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            run = await closed_loop(f"http://127.0.0.1:{port}/x", {}, 1, seconds=0.1, warmup=0)
        return run.cpu

    assert asyncio.run(run_it()) == {}
