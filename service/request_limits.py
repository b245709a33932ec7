"""ASGI middleware that guards what BentoML 1.4 does not: request size and upload form.

BentoML reads whole bodies without a size limit, fetches a URL given in place of an uploaded file,
and reads a server path given as a JSON string for a `Path` parameter. This middleware stops
all three before the request reaches BentoML: bodies over the limit get 413, upload endpoints
accept only `multipart/form-data` (415 otherwise), and every form field there must be a file
whose name the file system can hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# BentoML keeps each upload's file name as the suffix of a temporary file; past the file system's
# 255-byte limit on names that fails inside BentoML with a 500, so longer names are refused here.
MAX_FILENAME_BYTES = 200


class UploadField(NamedTuple):
    """The one form field an upload route reads, and whether it takes several files."""

    name: str
    many: bool = False


class BodyTooLarge(Exception):
    pass


class RequestLimits:
    """Buffers each POST body up to `max_body_bytes`, then checks the form of upload routes.

    `upload_routes` maps each upload path to the form field its files come in.
    """

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, upload_routes: Mapping[str, UploadField], max_files: int
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.upload_routes = upload_routes
        self.max_files = max_files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._refuse(scope, receive, send, 413, self._too_large_message())
            return
        file_field = self.upload_routes.get(scope["path"].rstrip("/"))
        is_upload = file_field is not None
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if is_upload and content_type != "multipart/form-data":
            message = (
                f"{scope['path']} takes multipart/form-data with the file in it, got "
                f"'{content_type or 'no content type'}'; for example: curl -F image=@digit.png"
            )
            await self._refuse(scope, receive, send, 415, message)
            return
        try:
            body = await self._read_body(receive)
        except BodyTooLarge:
            await self._refuse(scope, receive, send, 413, self._too_large_message())
            return
        replay = _replaying(body, receive)
        if is_upload:
            problem = await self._form_problem(scope, _replaying(body, receive), file_field)
            if problem is not None:
                await self._refuse(scope, receive, send, 400, problem)
                return
        await self.app(scope, replay, send)

    def _too_large_message(self) -> str:
        return f"request body larger than the limit of {self.max_body_bytes:,} bytes: send fewer or smaller images"

    async def _read_body(self, receive: Receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _form_problem(self, scope: Scope, receive: Receive, file_field: UploadField) -> str | None:
        """Why an upload form is refused, or None: only the route's file field, holding files, no URLs.

        A second file for a one-file route is refused too: BentoML would answer for the first
        and silently drop the rest.
        """
        try:
            form = await Request(scope, receive).form(max_files=self.max_files, max_fields=self.max_files)
        except HTTPException as error:  # how starlette reports a parser error inside an app
            return f"malformed multipart form: {error.detail}"
        except (MultiPartException, ValueError) as error:
            return f"malformed multipart form: {error}"
        try:
            for name, value in form.multi_items():
                if name != file_field.name:
                    return (
                        f"unexpected form field '{name}': {scope['path']} takes its files in the field "
                        f"'{file_field.name}'"
                    )
                if not isinstance(value, UploadFile):
                    return (
                        f"form field '{name}' must be an uploaded file; text values and URLs are "
                        "not accepted (curl: -F image=@digit.png, not -F image=...)"
                    )
                if len((value.filename or "").encode()) > MAX_FILENAME_BYTES:
                    return f"file name longer than {MAX_FILENAME_BYTES} bytes: rename the file before sending it"
            files = len(form.getlist(file_field.name))
            if files > 1 and not file_field.many:
                return f"{scope['path']} takes one file in the field '{file_field.name}', got {files}"
        finally:
            await form.close()
        return None

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
        await JSONResponse({"error": message}, status_code=status)(scope, receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive callable that hands the buffered body over once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
