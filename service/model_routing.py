"""Which served model version answers a request: the stable one, or a canary beside it.

A request names a version with `X-Model-Version` ("stable", "canary" or a served version string);
otherwise a share of requests goes to the canary (`MNIST_CANARY_PERCENT`), chosen by the hash of
`X-Client-Key`, so one client always meets the same model (requests without a key are split at
random). `ModelRouting` decides once per request, tells the endpoints through a context variable
(`chosen_role()`; a request header would need BentoML's Context parameter, and with it BentoML
overwrites the status of every Response an endpoint returns), sends canary `/predict` requests to the canary's own
batching queue (`/predict_canary`), names the version that answered in the response's
`X-Model-Version`, and, while a canary is served, counts answers per version in /metrics
(`mnist_model_requests_total`): counting every answer measured 0.87-0.98x the requests/s of
the service before this module at 32 clients; without a canary it is skipped (0.96-1.10x, noise).
"""

from __future__ import annotations

import functools
import hashlib
import random
import time
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.error_contract import error_answer

VERSION_HEADER = "x-model-version"
CLIENT_KEY_HEADER = "x-client-key"
STABLE, CANARY = "stable", "canary"
BATCHED_ROUTE, CANARY_BATCHED_ROUTE = "/predict", "/predict_canary"
BUCKETS = 10_000  # canary shares in steps of 0.01 %
_chosen_role: ContextVar[str] = ContextVar("mnist_model_role", default=STABLE)


def chosen_role() -> str:
    """STABLE or CANARY: what `ModelRouting` chose for the request being answered."""
    return _chosen_role.get()


def client_bucket(client_key: str) -> int:
    """A client key's place in 0..BUCKETS-1: the same in every worker and every restart."""
    return int.from_bytes(hashlib.sha256(client_key.encode()).digest()[:8], "big") % BUCKETS


@dataclass(frozen=True)
class ServedVersions:
    """The stable version's tag, the canary's (or None), and the canary's share in percent."""

    stable: str
    canary: str | None = None
    canary_percent: float = 0.0

    @functools.cached_property
    def _role_by_name(self) -> dict[str, str]:
        """Every name a request may give a served version: its role, its tag, its version string."""
        tags = {STABLE: self.stable, CANARY: self.canary}
        return {name: role for role, tag in tags.items() if tag for name in (role, tag, tag.split(":")[-1])}

    def tag_of(self, role: str) -> str:
        return self.canary if role == CANARY and self.canary else self.stable

    def choose(self, asked: str | None, client_key: str | None) -> str:
        """STABLE or CANARY for one request; ValueError for a version this server does not serve."""
        if asked:
            if asked not in self._role_by_name:
                served = ", ".join(filter(None, [f"stable ({self.stable})", self.canary and f"canary ({self.canary})"]))
                raise ValueError(f"X-Model-Version '{asked}' is not served here; served: {served}")
            return self._role_by_name[asked]
        if not self.canary or self.canary_percent <= 0:
            return STABLE
        bucket = client_bucket(client_key) if client_key else random.randrange(BUCKETS)
        return CANARY if bucket < self.canary_percent * BUCKETS / 100 else STABLE


def hide_canary_queue(spec: dict) -> None:
    """OpenAPI amendment: /predict_canary is internal (reached through /predict), not an API to call."""
    spec.get("paths", {}).pop(CANARY_BATCHED_ROUTE, None)


class ModelRouting:
    """ASGI middleware on the routes that run a model (`model_routes`)."""

    def __init__(
        self, app: ASGIApp, versions: ServedVersions, model_routes: Iterable[str], pinned: dict[str, str]
    ) -> None:
        """`pinned`: routes that name their version themselves (the protocol's version paths) -> role."""
        self.app = app
        self.versions = versions
        self.model_routes = frozenset(model_routes) | frozenset(pinned)
        self.pinned = pinned
        self._answers = None  # the counter is made in the worker, once BentoML has set up its metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").rstrip("/")
        if scope["type"] != "http" or (path not in self.model_routes and path != CANARY_BATCHED_ROUTE):
            await self.app(scope, receive, send)
            return
        if path == CANARY_BATCHED_ROUTE:  # the canary's queue is reached through /predict only
            message = f"not found: send the request to {BATCHED_ROUTE} with 'X-Model-Version: {CANARY}'"
            await error_answer(404, message)(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            role = self.pinned.get(path) or self.versions.choose(
                headers.get(VERSION_HEADER), headers.get(CLIENT_KEY_HEADER)
            )
        except ValueError as error:
            await error_answer(400, str(error))(scope, receive, send)
            return
        tag = self.versions.tag_of(role)
        if role == CANARY and path == BATCHED_ROUTE:
            scope = {**scope, "path": CANARY_BATCHED_ROUTE, "raw_path": CANARY_BATCHED_ROUTE.encode()}
        started = time.perf_counter()

        async def naming_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[VERSION_HEADER] = tag
                if self.versions.canary:  # with one version, BentoML's own per-route metrics say it all
                    self._count(tag, path, message["status"], time.perf_counter() - started)
            await send(message)

        chosen = _chosen_role.set(role)
        try:
            await self.app(scope, receive, naming_send)
        finally:
            _chosen_role.reset(chosen)

    def _count(self, tag: str, route: str, status: int, seconds: float) -> None:
        if self._answers is None:
            import bentoml.metrics  # BentoML's handle on prometheus_client, in its multiprocess mode

            self._answers = bentoml.metrics.Counter(
                name="mnist_model_requests",
                documentation="requests answered per served model version, route and status class",
                labelnames=["model_version", "route", "status"],
            )
            self._seconds = bentoml.metrics.Histogram(
                name="mnist_model_request_duration_seconds",
                documentation="time to answer per served model version",
                labelnames=["model_version"],
            )
        self._answers.labels(model_version=tag, route=route, status=f"{status // 100}xx").inc()
        self._seconds.labels(model_version=tag).observe(seconds)
