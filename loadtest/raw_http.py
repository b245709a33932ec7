"""A minimal HTTP/1.1 client on asyncio streams, for fault and overload tests.

Locust and httpx cost a large share of a core per thousand requests, and they hide what a fault
test must see: whether a connection was refused (the server never accepted it: safe to retry
elsewhere) or whether a request already written got no answer (lost). This client sends
pre-encoded requests on keep-alive connections and reports each outcome exactly.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

ANSWERED, REFUSED, LOST = "answered", "refused", "lost"
READ_TIMEOUT_S = 60.0
REUSE_WITHIN_S = 4.0  # the server closes keep-alive connections idle for 5 s: never reuse one near that


@dataclass(frozen=True)
class Outcome:
    """One request's fate: answered (with a status), refused before it was accepted, or lost."""

    kind: str
    seconds: float
    status: int = 0
    retry_after: bool = False
    body: bytes = b""


def encode_request(method: str, path: str, body: bytes = b"", content_type: str = "application/json") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n"
    if body:
        head += f"content-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


class Connection:
    """One keep-alive connection; `ask` sends a request and reads its answer."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self.writer is not None and not self.writer.is_closing()

    async def ask(self, request: bytes) -> Outcome:
        started = time.perf_counter()
        if self.is_open and time.monotonic() - self.last_used > REUSE_WITHIN_S:
            self.close()  # a real client's pool does the same; reusing it would race the server's close
        self.last_used = time.monotonic()
        if not self.is_open:
            try:
                self.reader, self.writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), timeout=5
                )
            except (TimeoutError, OSError):
                self.close()
                return Outcome(REFUSED, time.perf_counter() - started)
        try:
            self.writer.write(request)
            await self.writer.drain()
            status, headers, body = await asyncio.wait_for(self._read_answer(), READ_TIMEOUT_S)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            return Outcome(LOST, time.perf_counter() - started)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Outcome(ANSWERED, time.perf_counter() - started, status, "retry-after" in headers, body)

    async def _read_answer(self) -> tuple[int, dict[str, str], bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def closed_loop(host: str, port: int, request: bytes, users: int, stop: asyncio.Event) -> list[Outcome]:
    """`users` clients, each sending `request` again as soon as it is answered, until `stop`.

    A refused client waits 20 ms and tries again, as a client of a load balancer would.
    """
    outcomes: list[Outcome] = []

    async def user() -> None:
        connection = Connection(host, port)
        while not stop.is_set():
            outcome = await connection.ask(request)
            outcomes.append(outcome)
            if outcome.kind != ANSWERED:
                await asyncio.sleep(0.02)
        connection.close()

    await asyncio.gather(*(user() for _ in range(users)))
    return outcomes


async def open_loop(
    host: str, port: int, request: bytes, rate: float, seconds: float, max_connections: int = 512
) -> list[Outcome]:
    """Requests sent at `rate` per second for `seconds`, whatever the answers: an overload test.

    Each request takes an idle connection or opens one, up to `max_connections` in flight.
    """
    idle: list[Connection] = []
    outcomes: list[Outcome] = []
    in_flight = asyncio.Semaphore(max_connections)

    async def send_one() -> None:
        async with in_flight:
            connection = idle.pop() if idle else Connection(host, port)
            outcomes.append(await connection.ask(request))
            if connection.is_open:
                idle.append(connection)

    tasks = []
    started = time.perf_counter()
    for index in range(int(rate * seconds)):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send_one()))
    await asyncio.gather(*tasks)
    for connection in idle:
        connection.close()
    return outcomes
