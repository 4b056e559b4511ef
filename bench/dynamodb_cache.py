"""moto behind a read cache, for the throughput bench: a repeated read costs the cores little.

In production DynamoDB's own CPU is not on the service's cores. On this bench moto shares the
two cores with the service and the load generator, and moto 5.2 spends more CPU on one Query
than the service spends on the whole request (about 60% of it in its generic response
serializer), so the bench measured moto. Here a repeated DynamoDB read (GetItem, Query, Scan or
BatchGetItem with the same body) is answered with moto's own earlier answer, byte for byte.
Every other request (a DynamoDB write, Cognito, SES, moto's API) goes to moto and empties the
cache, and a read answered by moto is kept only if nothing else reached moto while it was
asked, so no answer is ever stale. The service still sends, signs, waits for and parses
every call; only moto's work is not repeated.

`GET /__cache__/stats` answers how many requests of each X-Amz-Target came in, and how many of
them moto answered.

    python -m bench.dynamodb_cache LISTEN_PORT MOTO_PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter

READS = frozenset(
    f"DynamoDB_20120810.{operation}".encode()
    for operation in ("GetItem", "Query", "Scan", "BatchGetItem")
)
STATS_PATH = b"GET /__cache__/stats "
Message = tuple[bytes, dict[bytes, bytes], bytes]


async def read_message(reader: asyncio.StreamReader) -> Message:
    """One HTTP/1.1 request or answer framed by Content-Length: head, headers, body."""
    head = await reader.readuntil(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"transfer-encoding" in headers:
        raise ValueError("chunked messages are not expected on this bench")
    return head, headers, await reader.readexactly(int(headers.get(b"content-length", b"0")))


class ReadCache:
    """moto's answers to reads, by (target, body), until the next request that is not a read."""

    def __init__(self, moto_port: int) -> None:
        self.moto_port = moto_port
        self.answers: dict[tuple[bytes, bytes], bytes] = {}
        self.generation = 0  # moves on with every request that is not a read
        self.others_in_flight = 0
        self.received: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one client connection's requests in turn, over a connection of its own to moto."""
        moto: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                try:
                    head, headers, body = await read_message(reader)
                except asyncio.IncompleteReadError:
                    return
                if head.startswith(STATS_PATH):
                    writer.write(self._stats())
                    continue
                target = headers.get(b"x-amz-target", b"")
                self.received[target.decode()] += 1
                key = (target, body)
                answer = self.answers.get(key) if target in READS else None
                if answer is None:
                    moto = moto or await asyncio.open_connection("127.0.0.1", self.moto_port)
                    answer, keep = await self._forward(moto, target, key, head + body)
                    if not keep:
                        moto[1].close()
                        moto = None
                writer.write(answer)
        finally:
            writer.close()
            if moto is not None:
                moto[1].close()

    async def _forward(
        self,
        moto: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        target: bytes,
        key: tuple[bytes, bytes],
        request: bytes,
    ) -> tuple[bytes, bool]:
        """moto's answer (and whether its connection stays open), kept if it may be."""
        self.forwarded[target.decode()] += 1
        if target in READS:
            generation = self.generation
            answer, keep = await self._ask_moto(moto, request)
            unchanged = generation == self.generation and not self.others_in_flight
            if unchanged and answer.startswith(b"HTTP/1.1 200"):
                self.answers[key] = answer
            return answer, keep
        self.generation += 1
        self.others_in_flight += 1
        self.answers.clear()
        try:
            return await self._ask_moto(moto, request)
        finally:
            self.others_in_flight -= 1
            self.generation += 1

    @staticmethod
    async def _ask_moto(
        moto: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> tuple[bytes, bool]:
        moto[1].write(request)
        head, headers, body = await read_message(moto[0])
        return head + body, headers.get(b"connection", b"").lower() != b"close"

    def _stats(self) -> bytes:
        body = json.dumps({"received": self.received, "forwarded": self.forwarded}).encode()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


async def main(listen_port: int, moto_port: int) -> None:
    """Serve until killed."""
    cache = ReadCache(moto_port)
    server = await asyncio.start_server(cache.serve, "127.0.0.1", listen_port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(int(sys.argv[1]), int(sys.argv[2])))
