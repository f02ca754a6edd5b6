"""Socket options the target sets on its connections."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

__all__ = ["abort_with_reset", "listen_socket", "set_nodelay"]

_LINGER_ZERO = struct.pack("ii", 1, 0)


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Small replies must leave at once: Nagle's delay would show up as fake server latency."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def abort_with_reset(transport: asyncio.BaseTransport) -> None:
    """Drop the connection with a TCP RST (SO_LINGER 0), as a crashed server or a middlebox would."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    abort = getattr(transport, "abort", None)
    if abort is not None:
        abort()
    else:
        transport.close()


def listen_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """One bound TCP socket for ``host`` (first address, IPv4 preferred), not yet listening.

    Binding a single address keeps ``--port 0`` honest: ``localhost`` could otherwise bind
    127.0.0.1 and ::1 on two different ephemeral ports.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    infos.sort(key=lambda info: 0 if info[0] == socket.AF_INET else 1)
    family, socktype, proto, _, address = infos[0]
    sock = socket.socket(family, socktype, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
