"""Large request bodies are worked on in a thread, small ones on the event loop, with the same results."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest
from starlette.requests import Request

from service import off_loop
from service.invalid_input import InvalidInput

REQUEST_ID = contextvars.ContextVar("request_id", default="")


def where_and_what(value: str) -> tuple[int, str, str]:
    """The thread it ran in, its argument, and the context variable it saw."""
    if value == "bad":
        raise InvalidInput("bad value")
    return threading.get_ident(), value, REQUEST_ID.get()


@pytest.mark.parametrize("body_size, in_loop_thread", [(10, True), (off_loop.OFF_LOOP_BYTES, False)])
def test_large_bodies_run_in_another_thread_with_the_callers_context(body_size: int, in_loop_thread: bool) -> None:
    async def main() -> tuple[int, tuple[int, str, str]]:
        REQUEST_ID.set("req-7")
        return threading.get_ident(), await off_loop.run(body_size, where_and_what, "x")

    loop_thread, (worker_thread, value, request_id) = asyncio.run(main())
    assert (worker_thread == loop_thread) is in_loop_thread
    assert (value, request_id) == ("x", "req-7")


@pytest.mark.parametrize("body_size", [10, off_loop.OFF_LOOP_BYTES])
def test_errors_reach_the_caller_from_either_thread(body_size: int) -> None:
    with pytest.raises(InvalidInput, match="bad value"):
        asyncio.run(off_loop.run(body_size, where_and_what, "bad"))


def request_sending(pieces: list[bytes]) -> Request:
    messages = [{"type": "http.request", "body": piece, "more_body": True} for piece in pieces]
    messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> dict:
        return messages.pop(0)

    return Request({"type": "http", "method": "POST", "headers": []}, receive)


def test_a_body_in_one_piece_is_handed_on_without_a_copy() -> None:
    piece = b"[" * 100_000
    assert asyncio.run(off_loop.whole_body(request_sending([piece]))) is piece


def test_a_body_in_pieces_is_joined_in_order() -> None:
    assert asyncio.run(off_loop.whole_body(request_sending([b"ab", b"", b"cd", b"e"]))) == b"abcde"
