"""Work on large request bodies in a worker thread, not on the event loop.

BentoML 1.4 parses and validates a JSON body on the worker's event loop, the loop that also
answers health checks, and so did our own checks (joining a body's pieces, counting its arrays).
One /predict body of 256 images (4 MiB) takes 19 ms to parse and about 5 ms more to join and
count under load, and when many such bodies finish arriving together they are all worked on in
one turn of the loop: measured here, 32 of them at once held /readyz for up to 490 ms. Work on
bodies of `OFF_LOOP_BYTES` or more runs in one dedicated thread instead, so the loop answers
between two pieces of it (the GIL is handed back after each); smaller bodies stay on the loop,
where a thread hop would cost more than the work.

`install` does this for the service's JSON APIs' parsing; `run` is the same rule for our own
middlewares and routes.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from _bentoml_impl.serde import JSONSerde, Payload, Serde
from starlette.requests import Request

OFF_LOOP_BYTES = 64 * 1024  # about 16 images as JSON: 0.3 ms of parsing on the loop

# One thread: the work holds the GIL anyway, and the loop then contends with one thread only. Its
# queue is bounded by the front door's limits on requests being received and processed.
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="large-bodies")

Result = TypeVar("Result")


async def run(body_size: int, work: Callable[..., Result], *args: Any) -> Result:
    """`work(*args)`, run in the worker thread when the body is large, else here and now."""
    if body_size < OFF_LOOP_BYTES:
        return work(*args)
    in_context = functools.partial(contextvars.copy_context().run, work, *args)
    return await asyncio.get_running_loop().run_in_executor(_WORKER, in_context)


def install(service: object, json_routes: set[str]) -> None:
    """Parse the bodies of the APIs at `json_routes` (routes that take JSON) by the rule above."""
    for api in service.apis.values():
        if api.route in json_routes and api.input_spec.model_fields:
            _parse_large_bodies_off_loop(api.input_spec)


def _parse_large_bodies_off_loop(input_spec: type) -> None:
    """BentoML's parse for one API (`JSONSerde.deserialize_model`), moved by `run`'s rule. Its other
    branch, fetching a URL sent in place of a file, cannot apply: these APIs take no files."""
    bentoml_parse = input_spec.from_http_request

    async def from_http_request(cls: type, request: Request, serde: Serde) -> Any:
        if type(serde) is not JSONSerde:
            return await bentoml_parse(request, serde)
        body = await whole_body(request)
        payload = Payload((body,), metadata=request.headers)
        return await run(len(body), serde.deserialize_model, payload, cls)

    input_spec.from_http_request = classmethod(from_http_request)


async def whole_body(request: Request) -> bytes:
    """The request's body, without the copy `Request.body()` makes of a body that came in one piece.

    Our middlewares hand the body on in one piece, and starlette joins it with the empty piece that
    ends every stream: a copy of up to 16 MiB, on the event loop, for every request.
    """
    pieces = [piece async for piece in request.stream() if piece]
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)
