"""``serve --workers``: every connection gets ``TCP_NODELAY`` (uvicorn's own socket for
workers has protocol number 0, on which asyncio leaves Nagle's algorithm on: ~40 ms added to
each response by the client's delayed ACK)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from contactpoint.cli.http_protocol import (
    HTTP_PROTOCOL,
    NoDelayH11Protocol,
    NoDelayHttpToolsProtocol,
)


class _Transport:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.sock if name == "socket" else default


@pytest.mark.parametrize("protocol_class", [NoDelayH11Protocol, NoDelayHttpToolsProtocol])
def test_connections_are_made_with_nagle_off(protocol_class: Any) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    config = uvicorn.Config(app=app)
    config.load()
    with socket.socket(socket.AF_INET) as listener:  # as uvicorn binds for workers: proto 0
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()) as _client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
                protocol = protocol_class(config=config, server_state=ServerState(),
                                          app_state={})
                protocol.connection_made(_Transport(accepted))  # type: ignore[arg-type]
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_serve_parses_http_with_httptools() -> None:
    assert HTTP_PROTOCOL.endswith(":" + NoDelayHttpToolsProtocol.__name__)
