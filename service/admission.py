"""Who gets in, and how many at once: an optional bearer token and a concurrency limit.

BentoML's own `traffic.max_concurrency` answers 429 from a middleware outside ours, without
`Retry-After`; this limit answers in the service's error contract and exempts the same routes.
Both leave health checks, metrics and the API docs open, for probes and scrapers.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.error_contract import RETRY_AFTER_S


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
                response = JSONResponse(
                    {"error": "missing or wrong access token: send 'Authorization: Bearer <token>'"},
                    status_code=401,
                    headers={"www-authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ConcurrencyLimit:
    """At most `limit` requests to the listed routes in progress at once; past it, 429 at once."""

    def __init__(self, app: ASGIApp, limit: int, limited_routes: Iterable[str]) -> None:
        self.app = app
        self.limit = limit
        self.limited = frozenset(limited_routes)
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") not in self.limited:
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.limit:
            response = JSONResponse(
                {"error": f"server busy: {self.limit} requests already in progress; retry shortly"},
                status_code=429,
                headers={"retry-after": str(RETRY_AFTER_S)},
            )
            await response(scope, receive, send)
            return
        self.in_progress += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress -= 1
