"""Work on large request bodies in a worker thread, not on the event loop.

BentoML 1.4 parses and validates a JSON body on the worker's event loop, the loop that also
answers health checks, and so did our own checks (joining a body's pieces, counting its arrays).
One /predict body of 256 images (4 MiB) takes 19 ms to parse and about 5 ms more to join and
count under load, and when many such bodies finish arriving together they are all worked on in
one turn of the loop: measured here, 32 of them at once held /readyz for up to 490 ms. Work on
bodies of `OFF_LOOP_BYTES` or more runs in one dedicated thread instead, so the loop answers
between two pieces of it (the GIL is handed back after each); smaller bodies stay on the loop,
where a thread hop would cost more than the work. Uploads are validated in that thread whatever
their size: BentoML writes each file to a temporary file as it validates them.

`install` does this for the service's APIs; `run` is the same rule for our own middlewares and
routes.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from _bentoml_impl.serde import JSONSerde, MultipartSerde, Payload, Serde
from starlette.requests import Request

if TYPE_CHECKING:  # request_limits runs its own large-body work through this module
    from service.request_limits import Route

OFF_LOOP_BYTES = 64 * 1024  # about 16 images as JSON: 0.3 ms of parsing on the loop

# One thread: the work holds the GIL anyway, and the loop then contends with one thread only. Its
# queue is bounded by the front door's limits on requests being received and processed.
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="large-bodies")

Result = TypeVar("Result")


async def run(body_size: int, work: Callable[..., Result], *args: Any) -> Result:
    """`work(*args)`, run in the worker thread when the body is large, else here and now."""
    if body_size < OFF_LOOP_BYTES:
        return work(*args)
    return await in_worker(work, *args)


async def in_worker(work: Callable[..., Result], *args: Any) -> Result:
    """`work(*args)` in the worker thread, seeing the caller's context variables (BentoML's request)."""
    in_context = functools.partial(contextvars.copy_context().run, work, *args)
    return await asyncio.get_running_loop().run_in_executor(_WORKER, in_context)


def install(service: object, routes: Mapping[str, Route]) -> None:
    """Parse the bodies of the service's APIs, whose inputs `routes` describes, by the rules above."""
    for api in service.apis.values():
        route = routes.get(api.route)
        if route is None or not api.input_spec.model_fields:
            continue
        if route.file_field is None:
            _parse_large_bodies_off_loop(api.input_spec)
        else:
            _store_uploads_off_loop(api.input_spec, route)


def _parse_large_bodies_off_loop(input_spec: type) -> None:
    """BentoML's parse for one API (`JSONSerde.deserialize_model`), moved by `run`'s rule. Its other
    branch, fetching a URL sent in place of a file, cannot apply: these APIs take no files."""

    async def parse(cls: type, request: Request, serde: Serde) -> Any:
        body = await whole_body(request)
        payload = Payload((body,), metadata=request.headers)
        return await run(len(body), serde.deserialize_model, payload, cls)

    _replace_parse(input_spec, JSONSerde, parse)


def _store_uploads_off_loop(input_spec: type, route: Route) -> None:
    """BentoML validates an upload by writing each file to a temporary file of its own, on the
    event loop: 32 requests of 64 files at once held /readyz for 150-680 ms, py-spy showing
    `tempfile.NamedTemporaryFile` under `MultipartSerde.parse_request`. The form is read here, on the
    loop, and validated (the files written) in the worker thread. `RequestLimits` has already
    checked that the form holds files in the route's one file field and nothing else, so BentoML's
    other branches (text fields, URLs to fetch) cannot apply."""

    async def parse(cls: type, request: Request, _serde: Serde) -> Any:
        files = (await request.form()).getlist(route.file_field)
        fields = {route.file_field: files if route.many_files else files[0]} if files else {}
        return await in_worker(cls.model_validate, fields)

    _replace_parse(input_spec, MultipartSerde, parse)


def _replace_parse(input_spec: type, serde_type: type[Serde], parse: Callable[..., Awaitable[Any]]) -> None:
    """`parse(cls, request, serde)` in place of BentoML's for requests in `serde_type`'s form; BentoML
    keeps the others."""
    bentoml_parse = input_spec.from_http_request

    async def from_http_request(cls: type, request: Request, serde: Serde) -> Any:
        if type(serde) is not serde_type:
            return await bentoml_parse(request, serde)
        return await parse(cls, request, serde)

    input_spec.from_http_request = classmethod(from_http_request)


async def whole_body(request: Request) -> bytes:
    """The request's body, without the copy `Request.body()` makes of a body that came in one piece.

    Our middlewares hand the body on in one piece, and starlette joins it with the empty piece that
    ends every stream: a copy of up to 16 MiB, on the event loop, for every request.
    """
    pieces = [piece async for piece in request.stream() if piece]
    return await joined(pieces, sum(map(len, pieces)))


async def joined(pieces: list[bytes], size: int) -> bytes:
    """The pieces of a body (`size` bytes) as one: a single piece as it is, no copy and no thread hop."""
    return pieces[0] if len(pieces) == 1 else await run(size, b"".join, pieces)
