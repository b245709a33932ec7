"""Everything between a client and the service's endpoints, installed in one place.

BentoML builds each worker's ASGI app and uvicorn server after importing the service; `install`
puts our pieces into that stack, outermost first:
1. `FrontDoor` (outside BentoML's own middlewares): health answers, 429 past the concurrency limit;
2. BentoML's metrics (known routes only), tracing (spans recorded only for sampled traces),
   access log and timeout middlewares;
3. `ErrorContract`, `AccessToken` (when a token is set), `ModelRouting` (stable or canary),
   `RequestLimits`, `ReadOnlyRoutes`, `BarePrefix`;
4. the endpoints, whose large JSON bodies are parsed off the event loop (`off_loop`) and whose
   /predict batches go through `GreedyDispatcher`.
Under it all, uvicorn parses HTTP with httptools, with `graceful_http`'s header deadline and size
limit and its SIGTERM drain. Client errors are logged in one line (`client_error_logs`).
"""

from __future__ import annotations

from service import (
    batch_bridge,
    client_error_logs,
    dispatcher,
    draw_page,
    graceful_http,
    json_outputs,
    metrics_paths,
    off_loop,
    open_inference,
    trace_sampling,
)
from service.admission import AccessToken, FrontDoor
from service.error_contract import ErrorContract
from service.model_routing import CANARY_BATCHED_ROUTE, ModelRouting, ServedVersions, hide_canary_queue
from service.open_inference import BarePrefix
from service.read_only_routes import ReadOnlyRoutes
from service.request_limits import BodyReader, RequestLimits, routes_of
from service.settings import ServiceSettings

READ_ONLY_ROUTES = frozenset({"/model_info"})


def install(
    service: object,
    settings: ServiceSettings,
    model_name: str,
    versions: ServedVersions,
) -> None:
    """`model_name` and `versions`: the stored model and the versions of it served, which also give
    the Open Inference Protocol's routes (limited, protected, routed and counted like the APIs)."""
    api_routes = routes_of(service)
    inference_routes = open_inference.infer_paths(model_name, versions)
    other_routes = open_inference.known_paths(model_name, versions)
    pinned_routes = open_inference.pinned_infer_paths(model_name, versions)
    model_routes = [*api_routes, *inference_routes]
    dispatcher.install()
    client_error_logs.install()
    trace_sampling.install()
    batch_bridge.install()
    json_outputs.install(service)
    off_loop.install(service, api_routes)
    metrics_paths.install([*model_routes, *other_routes])
    graceful_http.install(
        header_timeout_s=settings.header_timeout_s,
        grace_s=settings.shutdown_grace_s,
        front=lambda app: FrontDoor(
            app,
            limit=settings.max_concurrency,
            limited_routes=model_routes,
            draining=graceful_http.DRAINING,
            bodies=BodyReader(settings.max_body_bytes, settings.body_timeout_s),
        ),
    )
    # BentoML wraps these in the order added, the first outermost, all inside its own middlewares
    service.add_asgi_middleware(
        ErrorContract,
        api_routes=api_routes,
        image_routes={api.route for api in service.apis.values() if api.input_spec.model_fields},
        batch_routes={api.route for api in service.apis.values() if api.batchable},
        spec_amendments=[draw_page.link_from_api_page, hide_canary_queue],
    )
    if settings.access_token is not None:
        service.add_asgi_middleware(
            AccessToken, token=settings.access_token.get_secret_value(), protected_routes=model_routes
        )
    not_routed = {*READ_ONLY_ROUTES, CANARY_BATCHED_ROUTE, *pinned_routes}
    routed = [route for route in model_routes if route not in not_routed]
    service.add_asgi_middleware(ModelRouting, versions=versions, model_routes=routed, pinned=pinned_routes)
    service.add_asgi_middleware(
        RequestLimits,
        routes=api_routes,
        max_body_bytes=settings.max_body_bytes,
        max_files=settings.max_files_per_request,
        max_images=settings.max_images_per_request,
        body_timeout_s=settings.body_timeout_s,
    )
    service.add_asgi_middleware(ReadOnlyRoutes, paths=READ_ONLY_ROUTES)
    service.add_asgi_middleware(BarePrefix)
