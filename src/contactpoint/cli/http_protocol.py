"""uvicorn's HTTP protocol with ``TCP_NODELAY`` on every connection, for ``serve --workers``.

With several processes uvicorn binds the listening socket itself as ``socket.socket(family)``
(protocol number 0), and asyncio turns Nagle's algorithm off only on sockets whose protocol
number is ``IPPROTO_TCP``: each response's last segment then waited for the client's delayed
ACK, about 40 ms per request (measured: one client, 12 searches/s with two processes against
36 with one). One process binds through ``getaddrinfo`` and never had the delay.

``serve`` parses HTTP with httptools (C, llhttp): h11, in pure Python, was ~5 % of a search's
CPU under 20 clients (py-spy, 1 M children). The h11 protocol stays for anyone who asks for it.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def _nagle_off(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _nagle_off(transport)
        super().connection_made(transport)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _nagle_off(transport)
        super().connection_made(transport)


HTTP_PROTOCOL = f"{__name__}:{NoDelayHttpToolsProtocol.__name__}"
