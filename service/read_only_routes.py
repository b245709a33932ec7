"""ASGI middleware that lets read-only APIs answer GET as well as POST.

BentoML 1.4 routes every API as POST only, so `curl http://host/model_info` or a browser would get
405 from an endpoint that only reads. A GET to one of the listed paths is handed to BentoML as the
same request with the method POST and no body, which is exactly how the API is called anyway.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class ReadOnlyRoutes:
    """Serves GET on `paths` through their POST APIs; every other request passes untouched."""

    def __init__(self, app: ASGIApp, paths: frozenset[str]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].rstrip("/") in self.paths:
            scope = {**scope, "method": "POST"}
        await self.app(scope, receive, send)
