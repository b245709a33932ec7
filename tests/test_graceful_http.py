"""Stopping a listening socket on SIGTERM: queued connections kept, new ones never completed."""

from __future__ import annotations

import socket

import pytest

from service.graceful_http import SO_ATTACH_FILTER, refuse_new_handshakes


class FilterlessSocket(socket.socket):
    """A socket on which attaching a filter is refused, as inside a container as a non-root user."""

    def setsockopt(self, level: int, option: int, value: object) -> None:
        if option == SO_ATTACH_FILTER:
            raise PermissionError(1, "Operation not permitted")
        super().setsockopt(level, option, value)


@pytest.mark.parametrize("socket_type", [socket.socket, FilterlessSocket], ids=["filter", "no filter allowed"])
def test_queued_connection_survives_and_new_ones_are_not_completed(socket_type: type[socket.socket]) -> None:
    with socket_type() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        address = listener.getsockname()
        queued = socket.create_connection(address)
        refuse_new_handshakes(listener)
        with pytest.raises(OSError):  # dropped handshake: the client times out and would retry
            socket.create_connection(address, timeout=0.5)
        accepted, _ = listener.accept()
        queued.sendall(b"ping")
        assert accepted.recv(4) == b"ping"
        listener.shutdown(socket.SHUT_RD)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(address, timeout=0.5)
        accepted.close()
        queued.close()
