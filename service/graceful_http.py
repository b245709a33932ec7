"""The HTTP server's connection rules that uvicorn (as BentoML 1.4 runs it) lacks: time and size
limits on request headers, and a shutdown that loses no accepted request.

Measured on BentoML 1.4.40 / uvicorn 0.54 before this module:
- a connection that sends nothing, or half its headers, stayed open for more than 100 s;
- with httptools (uvicorn's C parser, which serves 1.1-1.3x the requests of its pure-Python h11
  parser at 32 clients here), headers have no size limit at all: 2 MB of one header parse;
- with 32 clients, SIGTERM lost 64 accepted requests: uvicorn closed idle keep-alive connections
  that a client was already reusing, and connections waiting in the listening socket's queue were
  reset when the last process holding the socket (BentoML's supervisor) closed it ~0.9 s later.

`install()` makes every worker's uvicorn use `GuardedHttpProtocol` and `DrainingServer`
(BentoML builds `uvicorn.Server(config)` after importing the service, so replacing the names
in uvicorn is enough). On SIGTERM a worker:
1. sets `DRAINING`, so /readyz answers 503 on connections already open (`admission.FrontDoor`);
2. stops taking connections without resetting any it has accepted: a socket filter drops new
   handshakes (those clients retry and are then refused, never reset; `refuse_new_handshakes`
   says what happens where a filter is not allowed), the connections already queued are accepted
   and served, then the socket is shut for reading (`SHUT_RD`), which stops the listening for
   every process that shares it;
3. answers every request in progress and any that arrives on an open connection within
   `DRAIN_IDLE_S`, each with `Connection: close`, and exits once all are answered or after the
   grace period.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import json
import signal
import socket
import sys
import threading
from collections.abc import Callable

import uvicorn
import uvicorn.config
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DRAINING = threading.Event()  # set on SIGTERM; /readyz answers 503 from then on
MAX_HEAD_BYTES = 16 * 1024  # request line and headers; h11's limit, which uvicorn's other parser lacks
HEAD_TOO_LARGE = f"request line and headers over {MAX_HEAD_BYTES // 1024} KiB"
DRAIN_IDLE_S = 1.0  # an idle keep-alive connection stays open this long after SIGTERM, for a request in flight
SO_ATTACH_FILTER = 26  # Linux <asm-generic/socket.h>
BPF_RET_DROP = 0x06  # BPF_RET | BPF_K with k = 0: accept no bytes of any packet


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


_DROP_EVERYTHING = (_SockFilter * 1)(_SockFilter(BPF_RET_DROP, 0, 0, 0))


def refuse_new_handshakes(listener: socket.socket) -> None:
    """Stop a listening socket from completing new connections, keeping those already queued.

    A socket filter that drops every packet does it exactly. Where attaching one is not allowed
    (measured: EPERM inside a Docker container as a non-root user), the backlog shrinks to zero
    instead: new handshakes are dropped while a connection waits in the queue, leaving only the
    instant between emptying the queue and shutting the socket for one to slip in.
    """
    try:
        listener.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(_SockFprog(1, _DROP_EVERYTHING)))
    except OSError:
        listener.listen(0)


def _error_response(status: str, message: str) -> bytes:
    """A whole answer in the service's error form, for refusals made before any request exists."""
    body = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class HeadTooLarge(Exception):
    """Raised in the parser's callback; uvicorn catches it as a parser error (`send_400_response`)."""


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit for each request's headers,
    and a gentle drain."""

    header_timeout_s = 10.0  # set by install()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._reading_head = False  # a request has begun and its headers are not all in
        self._head_bytes = 0
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        """Counts what arrives while a head is incomplete: httptools buffers a header until it
        ends, so a head that never ends is cut off here. Only pieces after the one the request
        began in count (that one may also hold the end of the previous request's body): a head
        is cut off at most one read past the limit, and the rest of a refused request's body,
        which arrives after its answer, never counts."""
        if self._reading_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._reading_head and self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            self.send_400_response(HEAD_TOO_LARGE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        """The parser's callback once a head is in, whole (it may have come in one piece)."""
        head_bytes = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)  # ": ", CRLF
        if head_bytes > MAX_HEAD_BYTES:
            raise HeadTooLarge(HEAD_TOO_LARGE)
        self._reading_head = False
        super().on_headers_complete()
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm_head_timer()  # the headers are in: the body has its own deadline (RequestLimits)
            if DRAINING.is_set():
                self._last_on_this_connection()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if DRAINING.is_set():
            self.loop.call_later(DRAIN_IDLE_S, self._close_if_idle)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        """uvicorn closes idle connections at once; a request already on its way would be reset.

        Here an idle connection stays open for DRAIN_IDLE_S, and a request whose answer has not
        started is answered with `Connection: close`, so its client knows not to send another on
        it. One whose answer has started keeps its connection, which closes once idle.
        """
        if self.cycle is None or self.cycle.response_complete:
            self.loop.call_later(DRAIN_IDLE_S, self._close_if_idle)
        elif not self.cycle.response_started:
            self._last_on_this_connection()

    def _last_on_this_connection(self) -> None:
        """Answer the current request with `Connection: close` and close the connection after it."""
        self.cycle.keep_alive = False

    def send_400_response(self, msg: str) -> None:
        """A request that cannot be parsed gets the service's error body, naming what the parser
        found, not uvicorn's plain text. uvicorn calls this inside its `except` for the parser's
        error and passes a fixed message, so the parser's own words come from `sys.exc_info()`."""
        parser_error = sys.exc_info()[1]
        if parser_error is None:
            reason = msg
        elif isinstance(parser_error.__context__, HeadTooLarge):  # httptools wraps a callback's exception
            reason = str(parser_error.__context__)
        else:
            reason = str(parser_error)
        self.transport.write(_error_response("400 Bad Request", f"invalid HTTP request: {reason}"))
        self.transport.close()

    def _close_if_idle(self) -> None:
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _headers_too_slow(self) -> None:
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return
        if self._reading_head:  # half a request: say why before closing
            message = f"request headers not received within {self.header_timeout_s:g} s"
            self.transport.write(_error_response("408 Request Timeout", message))
        self.transport.close()


class DrainingServer(uvicorn.Server):
    """uvicorn's server that, on SIGTERM, stops listening without resetting queued connections."""

    grace_s = 20.0  # set by install()
    front: Callable[[ASGIApp], ASGIApp] | None = None  # set by install(): wraps BentoML's app

    def __init__(self, config: uvicorn.Config) -> None:
        config.timeout_graceful_shutdown = self.grace_s
        if self.front is not None:
            config.app = self.front(config.app)
        super().__init__(config)

    def handle_exit(self, sig: int, frame: object) -> None:
        if sig in (signal.SIGTERM, signal.SIGINT) and not DRAINING.is_set():
            DRAINING.set()
            for listener in self._listeners():
                refuse_new_handshakes(listener)
                listener.close()  # closes this handle only: what was set stays on the socket
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        make_protocol = functools.partial(
            self.config.http_protocol_class,
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        loop = asyncio.get_running_loop()
        for listener in self._listeners():
            listener.setblocking(False)
            while True:  # the queue only shrinks now: new handshakes are filtered out
                try:
                    connection, _ = listener.accept()
                except (BlockingIOError, OSError):
                    break
                await loop.connect_accepted_socket(make_protocol, connection)
            try:
                listener.shutdown(socket.SHUT_RD)
            except OSError:
                pass
            listener.close()
        await super().shutdown(sockets)

    def _listeners(self) -> list[socket.socket]:
        """Private handles on the listening sockets (the same kernel sockets, other descriptors)."""
        handles = []
        for server in self.servers:
            for transport_socket in server.sockets:
                handles.append(socket.socket(fileno=socket.dup(transport_socket.fileno())))
        return handles


def install(header_timeout_s: float, grace_s: float, front: Callable[[ASGIApp], ASGIApp] | None = None) -> None:
    """Make uvicorn, as BentoML's workers start it, use the protocol and server above.

    `front`, if given, wraps the whole ASGI app, outside BentoML's own middlewares.
    """
    GuardedHttpProtocol.header_timeout_s = header_timeout_s
    DrainingServer.grace_s = grace_s
    DrainingServer.front = staticmethod(front) if front is not None else None
    for name in uvicorn.config.HTTP_PROTOCOLS:  # whichever parser a configuration names
        uvicorn.config.HTTP_PROTOCOLS[name] = GuardedHttpProtocol  # type: ignore[assignment]
    uvicorn.Server = DrainingServer  # type: ignore[misc]
