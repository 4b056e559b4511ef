"""The throughput bench's read cache in front of moto: repeated reads only, never a stale one."""

from __future__ import annotations

import asyncio
import json

from bench.dynamodb_cache import ReadCache, read_message

QUERY = b"DynamoDB_20120810.Query"
UPDATE = b"DynamoDB_20120810.UpdateItem"


class FakeMoto:
    """Answers every request with how many requests it has had: a changed answer is visible."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                _, headers, _ = await read_message(reader)
                self.requests.append(headers.get(b"x-amz-target", b""))
                body = json.dumps({"answer": len(self.requests)}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        except asyncio.IncompleteReadError:
            writer.close()


async def ask(writer: asyncio.StreamWriter, reader: asyncio.StreamReader, target: bytes) -> int:
    body = b'{"TableName": "t"}'
    writer.write(
        b"POST / HTTP/1.1\r\nX-Amz-Target: "
        + target
        + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
    )
    _, _, answer = await read_message(reader)
    return int(json.loads(answer)["answer"])


def test_a_repeated_read_is_answered_from_the_cache_until_something_else_comes() -> None:
    async def scenario() -> tuple[list[int], list[bytes]]:
        moto = FakeMoto()
        upstream = await asyncio.start_server(moto.serve, "127.0.0.1", 0)
        cache = ReadCache(upstream.sockets[0].getsockname()[1])
        front = await asyncio.start_server(cache.serve, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(*front.sockets[0].getsockname()[:2])
        answers = [await ask(writer, reader, target) for target in (QUERY, QUERY, UPDATE, QUERY)]
        writer.close()
        front.close()
        upstream.close()
        return answers, moto.requests

    answers, reached_moto = asyncio.run(scenario())

    # The second Query got the first one's answer; the write went through and emptied the
    # cache, so the next Query saw moto's new state
    assert answers == [1, 1, 2, 3]
    assert reached_moto == [QUERY, UPDATE, QUERY]
