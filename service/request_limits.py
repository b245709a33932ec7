"""ASGI middleware that guards what BentoML 1.4 does not: request size, time and form.

BentoML reads whole bodies without a size or time limit, fetches a URL given in place of an
uploaded file, reads a server path given as a JSON string for a `Path` parameter, answers 500 to
a form sent to a JSON route, and parses any JSON on its event loop (16 MiB of `[0]` lists held
every request, health checks included, for 7-9 s). This middleware stops all of that before the
request reaches BentoML, on every route and every method:

- a body over `max_body_bytes` gets 413, one not sent within `body_timeout_s` gets 408;
- a JSON route takes `application/json` (or no body), in UTF-8 or any encoding JSON allows, and
  at most as many JSON arrays and values as `max_images` images can hold, counted on the raw
  bytes before any parsing (413 past that);
- an upload route takes `multipart/form-data` (415 otherwise) whose only field is the route's
  file field, holding files (no text, no URLs) with names the file system can hold;
- a body with a Content-Encoding (gzip, say) gets 415: nothing decompresses it.

The route table comes from the service's own APIs (`routes_of`), so a new API is covered the day
it is added, and an API whose inputs the guard cannot check stops the service at import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import anyio
from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from model_contract import IMAGE_SIDE
from service import off_loop
from service.error_contract import error_answer

# BentoML keeps each upload's file name as the suffix of a temporary file; past the file system's
# 255-byte limit on names that fails inside BentoML with a 500, so longer names are refused here.
MAX_FILENAME_BYTES = 200


@dataclass(frozen=True)
class Route:
    """What one API route reads: a JSON body, or files in one form field."""

    file_field: str | None = None
    many_files: bool = False


def routes_of(service: object) -> dict[str, Route]:
    """The guard's table, read from a BentoML service's APIs.

    Raises TypeError for an API that mixes files with other fields or takes several file fields:
    the guard checks one file field per form, and must not wave through what it cannot check.
    """
    table = {}
    for api in service.apis.values():
        spec = api.input_spec
        properties = spec.model_json_schema().get("properties", {})
        file_fields = set(getattr(spec, "multipart_fields", [])) | {
            name for name, schema in properties.items() if _is_file(schema) or _is_file(schema.get("items", {}))
        }
        if not file_fields:
            table[api.route] = Route()
            continue
        if len(file_fields) != 1 or len(properties) != 1:
            raise TypeError(
                f"{api.route}: the upload guard covers APIs with exactly one file field and no other "
                f"input, got fields {sorted(properties)}; extend service.request_limits first"
            )
        (name,) = file_fields
        table[api.route] = Route(file_field=name, many_files=properties[name].get("type") == "array")
    return table


def _is_file(schema: dict) -> bool:
    """How BentoML's schemas mark a file: `format: binary` (Path, PIL images and other file types)."""
    return schema.get("format") == "binary"


class Refusal(Exception):
    """A request refused before it reaches BentoML: its status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class BodyReader:
    """Reads a request body whole, within a size limit and a deadline, or refuses it (413, 408)."""

    max_body_bytes: int
    timeout_s: float

    def check_declared(self, headers: Headers) -> None:
        declared = headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            raise Refusal(413, self._too_large_message())

    async def read(self, receive: Receive) -> bytes:
        chunks, size = [], 0
        try:
            with anyio.fail_after(self.timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        break
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        raise Refusal(413, self._too_large_message())
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise Refusal(
                408, f"request body not received within {self.timeout_s:g} s (or shorter than declared)"
            ) from None
        return await off_loop.joined(chunks, size)

    def _too_large_message(self) -> str:
        return f"request body larger than the limit of {self.max_body_bytes:,} bytes: send fewer or smaller images"


JSON_SLACK = 64  # arrays and commas a request may hold besides its pixels: its other fields
# JSON arrays per image: its own and its 28 rows'. Keras's 28x28x1 layout, an array per pixel, takes
# 28 times as many, and is taken for a few images only: parsing 256 of them held the GIL for ~130 ms
# per request, and 32 such requests at once put the health probes' p99 at 120-220 ms (against 20-30
# ms for the 28x28 layout); bigger batches in that layout go as .npy.
ARRAYS_PER_IMAGE = IMAGE_SIDE + 1
ARRAYS_PER_KERAS_IMAGE = IMAGE_SIDE * IMAGE_SIDE + IMAGE_SIDE + 1
KERAS_LAYOUT_IMAGES = 16  # ~8 ms of parsing


def json_size_refusal(body: bytes, max_images: int) -> str | None:
    """Why a JSON body cannot be a valid request, from byte counts alone (C speed, no parsing).

    A body within the limits holds at most `max_images` images of 28 rows of 28 numbers
    (`ARRAYS_PER_IMAGE` arrays each), or a few in Keras's layout, so it has at most that many
    arrays and commas, plus a few for its other fields, and every JSON value but the last in a
    container is followed by a comma: the counts bound the work of parsing. Parsing a body made of millions of tiny
    arrays blocked the event loop for seconds; counting takes a millisecond.
    """
    arrays, values = body.count(b"["), body.count(b",")
    keras_images = min(max_images, KERAS_LAYOUT_IMAGES)
    array_budget = max(max_images * ARRAYS_PER_IMAGE, keras_images * ARRAYS_PER_KERAS_IMAGE) + JSON_SLACK
    if arrays <= array_budget and values <= max_images * IMAGE_SIDE**2 + JSON_SLACK:
        return None
    return (
        f"the JSON body holds {arrays:,} arrays and {values:,} commas, more than {max_images} images (the "
        "limit per request) can: split the request; each image is 28 rows of 28 numbers (Keras's 28x28x1, "
        f"an array per pixel, is taken for up to {keras_images} images: drop the channel axis, or send .npy)"
    )


def utf8_json(body: bytes) -> bytes:
    """A JSON body as UTF-8 without a byte-order mark, whatever Unicode encoding it came in.

    Windows editors and PowerShell save JSON with a UTF-8 byte-order mark, or as UTF-16; BentoML's
    parser answered both with "Invalid JSON ... line 1 column 1". The encoding is recognised as
    Python's `json.loads` recognises it on bytes (the Open Inference Protocol's routes parse so),
    so every route reads the same bodies. An undecodable body is left for the parser to refuse."""
    encoding = json.detect_encoding(body)
    if encoding == "utf-8":
        return body
    try:
        return body.decode(encoding).encode()
    except UnicodeDecodeError:
        return body


class RequestLimits:
    """Buffers each request body within the size and time limits, then checks it by route."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Mapping[str, Route],
        max_body_bytes: int,
        max_files: int,
        max_images: int,
        body_timeout_s: float,
    ) -> None:
        self.app = app
        self.routes = routes
        self.bodies = BodyReader(max_body_bytes, body_timeout_s)
        self.max_files = max_files
        self.max_images = max_images

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        route = self.routes.get(scope["path"].rstrip("/"))
        try:
            self.bodies.check_declared(headers)
            has_body = bool(headers.get("transfer-encoding")) or headers.get("content-length", "0") != "0"
            if route is None and not has_body:
                await self.app(scope, receive, send)
                return
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if route is not None:
                self._check_content_type(scope["path"], route, content_type, has_body)
                self._check_content_encoding(headers.get("content-encoding", ""), has_body)
            body = await self.bodies.read(receive)
            if route is not None and route.file_field is None and body:
                body = utf8_json(body)
                await self._check_json_size(body)
            if route is not None and route.file_field is not None:
                await self._check_form(scope, replaying(body, receive), route)
        except Refusal as refusal:
            await error_answer(refusal.status, str(refusal))(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)

    @staticmethod
    def _check_content_type(path: str, route: Route, content_type: str, has_body: bool) -> None:
        if route.file_field is not None and content_type != "multipart/form-data":
            raise Refusal(
                415,
                f"{path} takes multipart/form-data with the file in the field '{route.file_field}', got "
                f"'{content_type or 'no content type'}'; for example: curl -F {route.file_field}=@digit.png",
            )
        if route.file_field is None and has_body and content_type != "application/json":
            raise Refusal(
                415,
                f"{path} takes a JSON body (content type application/json), got '{content_type or 'none'}'; "
                "image files go to /predict_image or /predict_images",
            )

    @staticmethod
    def _check_content_encoding(content_encoding: str, has_body: bool) -> None:
        """A compressed body would reach the parsers as it is and fail as "invalid JSON" or "not an
        image"; say what is wrong instead (RFC 7694: 415 for a coding the server does not read)."""
        if has_body and content_encoding.strip().lower() not in ("", "identity"):
            raise Refusal(
                415,
                f"request bodies are read as sent: Content-Encoding '{content_encoding}' is not supported; "
                "send the body uncompressed",
            )

    async def _check_json_size(self, body: bytes) -> None:
        message = await off_loop.run(len(body), json_size_refusal, body, self.max_images)
        if message is not None:
            raise Refusal(413, message)

    async def _check_form(self, scope: Scope, receive: Receive, route: Route) -> None:
        """An upload form holds only the route's file field, holding files, no URLs.

        A second file for a one-file route is refused too: BentoML would answer for the first
        and silently drop the rest.
        """
        try:
            form = await Request(scope, receive).form(max_files=self.max_files, max_fields=self.max_files)
        except HTTPException as error:  # how starlette reports a parser error inside an app
            raise Refusal(400, f"malformed multipart form: {error.detail}") from error
        except (MultiPartException, ValueError) as error:
            raise Refusal(400, f"malformed multipart form: {error}") from error
        try:
            for name, value in form.multi_items():
                if name != route.file_field:
                    raise Refusal(
                        400,
                        f"unexpected form field '{name}': {scope['path']} takes its files in the field "
                        f"'{route.file_field}'",
                    )
                if not isinstance(value, UploadFile):
                    raise Refusal(
                        400,
                        f"form field '{name}' must be an uploaded file; text values and URLs are "
                        f"not accepted (curl: -F {name}=@digit.png, not -F {name}=...)",
                    )
                if len((value.filename or "").encode()) > MAX_FILENAME_BYTES:
                    raise Refusal(
                        400, f"file name longer than {MAX_FILENAME_BYTES} bytes: rename the file before sending it"
                    )
            files = len(form.getlist(route.file_field))
            if files == 0:
                raise Refusal(400, f"no file in the field '{route.file_field}': curl -F {route.file_field}=@digit.png")
            if files > 1 and not route.many_files:
                raise Refusal(400, f"{scope['path']} takes one file in the field '{route.file_field}', got {files}")
        finally:
            await form.close()


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive callable that hands the buffered body over once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
