"""The Open Inference Protocol's (KServe V2) REST routes, mounted at /v2 beside the service's own.

Server and model metadata, liveness and readiness, and inference, each model route also under
`/versions/{version}`. The model is the stored model the service serves: its name is the model's
name in the BentoML store, its one version the stored version. Inference goes through /predict's
adaptive batching (`batch_bridge`), so V2 requests and /predict requests share model calls; the
size, time and concurrency limits are the other routes' (`http_stack`).
"""

from __future__ import annotations

import threading
from importlib import metadata

import numpy as np
from bentoml.exceptions import BentoMLException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from service import batch_bridge, off_loop
from service.error_contract import error_answer
from service.inference_protocol import (
    HEADER_LENGTH,
    infer_response,
    json_header_length,
    model_metadata,
    parse_infer_request,
)
from service.invalid_input import InvalidInput
from service.model_routing import CANARY, STABLE, ServedVersions, chosen_role

PATH = "/v2"
SERVER_NAME = "mnist-digit-service"
EXTENSIONS = ["binary_tensor_data"]
BATCHED_API = {STABLE: "predict", CANARY: "predict_canary"}  # each version's batching queue


def server_version() -> str:
    try:
        return metadata.version(SERVER_NAME)
    except metadata.PackageNotFoundError:  # run from a Bento, where the project is not installed
        return "unknown"


def version_roles(versions: ServedVersions) -> dict[str, str]:
    """Each served version string (the part of the tag after the colon) -> its role."""
    roles = {STABLE: versions.stable, CANARY: versions.canary}
    return {tag.split(":")[-1]: role for role, tag in roles.items() if tag}


def model_prefixes(model_name: str, versions: ServedVersions) -> list[str]:
    base = f"{PATH}/models/{model_name}"
    return [base, *(f"{base}/versions/{version}" for version in version_roles(versions))]


def infer_paths(model_name: str, versions: ServedVersions) -> list[str]:
    """The inference routes: limited, protected, routed and counted like the service's API routes."""
    return [f"{prefix}/infer" for prefix in model_prefixes(model_name, versions)]


def pinned_infer_paths(model_name: str, versions: ServedVersions) -> dict[str, str]:
    """The inference routes that name a version in their path -> that version's role."""
    return {f"{PATH}/models/{model_name}/versions/{v}/infer": role for v, role in version_roles(versions).items()}


def known_paths(model_name: str, versions: ServedVersions) -> list[str]:
    """Every path the routes answer for the served model (for the request metrics)."""
    return [PATH, f"{PATH}/", f"{PATH}/health/live", f"{PATH}/health/ready"] + [
        f"{prefix}{suffix}" for prefix in model_prefixes(model_name, versions) for suffix in ("", "/ready", "/infer")
    ]


class BarePrefix:
    """ASGI middleware: `GET /v2` (server metadata) reaches the mounted routes.

    A mounted app only sees paths below its prefix; for the prefix itself starlette answers a 307
    to `/v2/`, which Triton's client does not follow. The path is given its slash before routing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            scope = {**scope, "path": f"{PATH}/", "raw_path": f"{PATH}/".encode()}
        await self.app(scope, receive, send)


def open_inference_app(
    model_name: str, platform: str, versions: ServedVersions, max_images: int, draining: threading.Event
) -> Starlette:
    """The /v2 routes for the served model: its stable version, and a canary if there is one.

    A version path names the version; without one, `model_routing.ModelRouting` has chosen (the
    request's `X-Model-Version`, or the canary share).
    """
    server = {"name": SERVER_NAME, "version": server_version(), "extensions": EXTENSIONS}
    roles = version_roles(versions)
    version_of = {role: version for version, role in roles.items()}
    described = model_metadata(model_name, platform, list(roles))

    def unknown_model(request: Request) -> Response | None:
        name, asked_version = request.path_params["name"], request.path_params.get("version")
        if name != model_name:
            return error_answer(404, f"unknown model '{name}'; this server serves '{model_name}'")
        if asked_version is not None and asked_version not in roles:
            served = f"the served versions are {', '.join(roles)}"
            return error_answer(404, f"unknown version '{asked_version}' of '{name}'; {served}")
        return None

    def role_of(request: Request) -> str:
        asked_version = request.path_params.get("version")
        return roles[asked_version] if asked_version else chosen_role()

    def readiness() -> Response:
        if draining.is_set():
            return error_answer(503, "the server is shutting down")
        return Response(status_code=200)

    async def server_metadata(_request: Request) -> Response:
        return JSONResponse(server)

    async def live(_request: Request) -> Response:
        return Response(status_code=200)

    async def ready(_request: Request) -> Response:
        return readiness()

    async def model(request: Request) -> Response:
        return unknown_model(request) or JSONResponse(described)

    async def model_ready(request: Request) -> Response:
        return unknown_model(request) or readiness()

    async def infer(request: Request) -> Response:
        refusal = unknown_model(request)
        if refusal is not None:
            return refusal
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding != "identity":
            return error_answer(415, f"Content-Encoding '{encoding}' is not accepted: send the request uncompressed")
        body = await request.body()
        try:
            length = json_header_length(request.headers.get(HEADER_LENGTH), len(body))
            json_size = len(body) if length is None else length  # binary tensors follow a JSON header
            parsed = await off_loop.run(json_size, parse_infer_request, body, length, max_images)
        except InvalidInput as error:
            return error_answer(error.status, str(error))
        try:
            role = role_of(request)
            answers = await batch_bridge.batched(BATCHED_API[role], images=parsed.pixels)
        except BentoMLException as error:  # the batching queue's budget ran out: 503
            return error_answer(error.error_code.value, str(error))
        probabilities = np.array([answer.probabilities for answer in answers], dtype=np.float32)
        unsure = np.array([answer.unsure for answer in answers], dtype=bool)
        content, header_length = infer_response(parsed, probabilities, unsure, model_name, version_of[role])
        if header_length is None:
            return Response(content, media_type="application/json")
        return Response(content, media_type="application/octet-stream", headers={HEADER_LENGTH: str(header_length)})

    routes = [Route("/", server_metadata), Route("/health/live", live), Route("/health/ready", ready)]
    for prefix in ("/models/{name}", "/models/{name}/versions/{version}"):
        routes += [
            Route(prefix, model),
            Route(f"{prefix}/ready", model_ready),
            Route(f"{prefix}/infer", infer, methods=["POST"]),
        ]
    return Starlette(routes=routes)
