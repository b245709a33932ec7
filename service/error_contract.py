"""One error contract for every route: every refusal is `{"error": "..."}`, and says so in OpenAPI.

BentoML and starlette answer in several shapes: pydantic's validation errors as
`{"detail": [...]}` (a list where BentoML's own schema declares a string), starlette's 404 and 405
as plain text, BentoML's 503 without `Retry-After`. `ErrorContract` rewrites every 4xx/5xx answer
that is not already `{"error": <string>}` into that form, keeping the status, and adds
`Retry-After` to 429 and 503. It also amends the OpenAPI document at /docs.json so that each API
route declares the codes it can answer, with the error body's schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus

import bentoml
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

RETRY_AFTER_S = 1  # a client refused for load may try again this soon
OPENAPI_PATH = "/docs.json"
ERROR_SCHEMA_NAME = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string", "description": "what went wrong and how to fix it"}},
    "required": ["error"],
}
ERROR_ANSWERS = {  # what each status means on an API route
    400: "the request's data cannot be classified (shape, type, range, malformed body or form)",
    401: "a bearer token is required and was missing or wrong (only when MNIST_ACCESS_TOKEN is set)",
    408: "the body (or the headers) did not arrive in time",
    413: "body, image or number of images over the server's limits",
    415: "wrong content type or an unsupported file format",
    422: "no digit to read as sent: a blank image, or pixel arrays scaled to 0-1 or dark on a light background",
    429: "too many requests in progress: retry after Retry-After seconds",
    500: "unexpected server error",
    503: "the request waited in the batching queue past its budget: retry after Retry-After seconds",
}
IMAGE_READERS_ONLY = frozenset({422})  # only routes that read images find one without a digit
BATCHING_ONLY = frozenset({503})  # only batched routes have a queue to time out in


RETRY_LATER = frozenset({429, 503})  # refusals for load: the client may try again


def error_answer(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The contract's answer for a refusal made by our own code: `{"error": message}`, and
    `Retry-After` when the refusal is for load."""
    headers = dict(headers or {})
    if status in RETRY_LATER:
        headers.setdefault("retry-after", str(RETRY_AFTER_S))
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def refusal(status: int, message: str) -> bentoml.exceptions.BentoMLException:
    """A refusal raised inside an endpoint: BentoML answers it with `status`, and `ErrorContract`
    gives the body the contract's form. An endpoint that raises keeps one return type."""
    error = bentoml.exceptions.BentoMLException(message)
    error.error_code = HTTPStatus(status)
    return error


def error_message(status: int, body: bytes) -> str | None:
    """The message to send for an error body, or None when it already has the contract's form."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and set(parsed) == {"error"} and isinstance(parsed["error"], str):
        return None
    if isinstance(parsed, list) and len(parsed) == 1:  # BentoML 1.4 wraps its 4xx bodies in a list
        parsed = parsed[0]
    if isinstance(parsed, dict):
        detail = parsed.get("detail")
        if isinstance(detail, list) and detail:  # pydantic's validation errors
            return "; ".join(_describe_validation_error(item) for item in detail)
        if parsed.get("error", detail) is not None:
            return str(parsed.get("error", detail))
    text = body.decode("utf-8", "replace").strip()
    return text or f"HTTP {status}"


def _describe_validation_error(item: object) -> str:
    if isinstance(item, dict) and "msg" in item:
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        return f"{where}: {item['msg']}" if where else str(item["msg"])
    return str(item)


def declare_error_answers(
    spec: dict, api_routes: Iterable[str], image_routes: set[str], batch_routes: set[str]
) -> dict:
    """The OpenAPI document with the error body and exactly the error codes each API route can answer.

    A request body with required fields is marked required too: BentoML leaves it optional, and
    a POST without a body is refused (400), as the document then says.
    """
    spec.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    reference = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    for route in api_routes:
        codes = set(ERROR_ANSWERS)
        codes -= set() if route in image_routes else IMAGE_READERS_ONLY
        codes -= set() if route in batch_routes else BATCHING_ONLY
        for operation in spec.get("paths", {}).get(route, {}).values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            body = operation.get("requestBody", {})
            if any(media.get("schema", {}).get("required") for media in body.get("content", {}).values()):
                body["required"] = True
            for declared in [status for status in operation["responses"] if status.isdigit() and int(status) >= 400]:
                del operation["responses"][declared]  # BentoML's generic list: 404 cannot happen on an API route
            for status in sorted(codes):
                operation["responses"][str(status)] = {
                    "description": ERROR_ANSWERS[status],
                    "content": {"application/json": {"schema": reference}},
                }
    return spec


class ErrorContract:
    """Rewrites error answers into `{"error": ...}` and declares them in /docs.json."""

    def __init__(
        self,
        app: ASGIApp,
        api_routes: Iterable[str],
        image_routes: Iterable[str],
        batch_routes: Iterable[str],
        spec_amendments: Iterable[Callable[[dict], None]] = (),
    ) -> None:
        """`spec_amendments` change the OpenAPI document further, in place, after the error answers."""
        self.app = app
        self.api_routes = tuple(api_routes)
        self.image_routes = set(image_routes)
        self.batch_routes = set(batch_routes)
        self.spec_amendments = tuple(spec_amendments)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        amend_spec = scope["path"] == OPENAPI_PATH
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewriting_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] < 400 and not amend_spec:
                    await send(message)
                    return
                start = message
                return
            if start is None:  # a body we pass through as it comes
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._send_rewritten(start, b"".join(chunks), send)

        await self.app(scope, receive, rewriting_send)

    async def _send_rewritten(self, start: Message, body: bytes, send: Send) -> None:
        status = start["status"]
        headers = MutableHeaders(raw=list(start["headers"]))
        if status < 400:  # the OpenAPI document
            spec = declare_error_answers(json.loads(body), self.api_routes, self.image_routes, self.batch_routes)
            for amend in self.spec_amendments:
                amend(spec)
            body = json.dumps(spec).encode()
        else:
            message = error_message(status, body)
            if message is not None:
                body = json.dumps({"error": message}).encode()
                headers["content-type"] = "application/json"
            if status in RETRY_LATER:
                headers.setdefault("retry-after", str(RETRY_AFTER_S))
        headers["content-length"] = str(len(body))
        await send({"type": "http.response.start", "status": status, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})
