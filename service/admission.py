"""Who gets in, and how many at once: an optional bearer token and a concurrency limit.

BentoML's own `traffic.max_concurrency` answers 429 from a middleware outside ours, without
`Retry-After`; the limit here answers in the service's error contract, ahead of every other layer.
Both leave health checks, metrics and the API docs open, for probes and scrapers.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.error_contract import error_answer
from service.request_limits import BodyReader, Refusal, replaying

LIVEZ, READYZ = "/livez", "/readyz"  # BentoML's health routes
RECEIVING_PER_SLOT = 4  # bodies on their way per processing slot: bounds buffered memory (4 x 32 x 16 MiB)


class AccessToken:
    """401 on the listed routes unless the request carries `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: str, protected_routes: Iterable[str]) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.protected = frozenset(protected_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") in self.protected:
            given = Headers(scope=scope).get("authorization", "").encode()
            if not hmac.compare_digest(given, self.expected):  # constant time: no guessing by timing
                message = "missing or wrong access token: send 'Authorization: Bearer <token>'"
                await error_answer(401, message, {"www-authenticate": "Bearer"})(scope, receive, send)
                return
        await self.app(scope, receive, send)


class FrontDoor:
    """The worker's outermost ASGI layer: health answers and load shedding at the lowest cost.

    Under a 2x overload the event loop itself is the bottleneck: every request crosses BentoML's
    metrics, tracing, access-log and timeout middlewares before anything can refuse it, and
    health checks queued behind that flood took 49 ms at the median and 522 ms at p99
    (results/faults.md, before this layer). Here, ahead of all of that:
    - `/livez` answers 200 at once (if this code runs, the event loop is alive);
    - `/readyz` answers 503 once `draining` is set, and 200 at once after BentoML's own check has
      passed once (its readiness does not change later for a service without dependencies);
    - a request to `limited_routes` first has its body read whole (within the size limit and
      deadline of `bodies`), at most `RECEIVING_PER_SLOT * limit` at once, and only then takes one
      of `limit` processing slots; past either, 429 at once with `Retry-After` (these refusals are
      not in BentoML's request metrics). A client that sends its body slowly holds a receiving
      place, never a processing slot: counted from the headers, 32 dripping clients kept every
      other /predict at 429 until their 20 s body deadline.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        limited_routes: Iterable[str],
        draining: threading.Event,
        bodies: BodyReader,
    ) -> None:
        self.app = app
        self.limit = limit
        self.limited = frozenset(limited_routes)
        self.draining = draining
        self.bodies = bodies
        self.in_progress = 0
        self.receiving = 0
        self.ready = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == LIVEZ:
            await PlainTextResponse("\n")(scope, receive, send)
        elif path == READYZ:
            await self._readiness(scope, receive, send)
        elif path.rstrip("/") in self.limited:
            await self._limited(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _readiness(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.draining.is_set():
            await error_answer(503, "shutting down: send requests to another replica")(scope, receive, send)
        elif self.ready:
            await PlainTextResponse("\n")(scope, receive, send)
        else:

            async def noting_send(message: Message) -> None:
                if message["type"] == "http.response.start" and message["status"] == 200:
                    self.ready = True
                await send(message)

            await self.app(scope, receive, noting_send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.receiving >= RECEIVING_PER_SLOT * self.limit:
            await self._busy(scope, receive, send, "bodies already on their way")
            return
        self.receiving += 1
        try:
            self.bodies.check_declared(Headers(scope=scope))
            body = await self.bodies.read(receive)
        except Refusal as refusal:
            await error_answer(refusal.status, str(refusal))(scope, receive, send)
            return
        finally:
            self.receiving -= 1
        if self.in_progress >= self.limit:
            await self._busy(scope, receive, send, "requests already in progress")
            return
        self.in_progress += 1
        try:
            await self.app(scope, replaying(body, receive), send)
        finally:
            self.in_progress -= 1

    async def _busy(self, scope: Scope, receive: Receive, send: Send, what: str) -> None:
        await error_answer(429, f"server busy: too many {what}; retry shortly")(scope, receive, send)
