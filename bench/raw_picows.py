"""The floor every WebSocket benchmark compares against: a bare picows client on uvloop.

Two modes, each printing one JSON line on stdout (the benchmarks run this in a pinned subprocess):

  echo  -- N connections, closed loop: ``on_ws_frame`` sends the next message, so each connection
           keeps exactly one message in flight. Counts echoes in a window of ``--seconds`` that
           starts once every connection is open and sending.
  hold  -- open N idle connections (at most ``--concurrency`` handshakes at a time, optionally from
           ``--source`` 127.0.0.x), report how long it took and the process's RSS growth per
           connection, hold them ``--hold`` seconds.

    .venv/bin/python bench/raw_picows.py echo ws://127.0.0.1:8000/ws --connections 50 --seconds 10
    .venv/bin/python bench/raw_picows.py hold ws://127.0.0.1:8000/ws --connections 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import time
from collections.abc import Callable
from typing import Any

import psutil
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

MESSAGE = b"stb-echo-bench " + b"x" * 85  # 100 bytes, not JSON: the target echoes it
assert len(MESSAGE) == 100


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class EchoCounter(WSListener):
    count = 0
    running = False

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            transport.disconnect()
            return
        EchoCounter.count += 1
        if EchoCounter.running:
            transport.send(WSMsgType.TEXT, MESSAGE)


async def echo(url: str, connections: int, seconds: float, warmup: float) -> dict[str, Any]:
    transports = [(await ws_connect(EchoCounter, url))[0] for _ in range(connections)]
    EchoCounter.running = True
    for transport in transports:
        transport.send(WSMsgType.TEXT, MESSAGE)
    await asyncio.sleep(warmup)
    count0, t0 = EchoCounter.count, time.perf_counter()
    cpu0 = time.process_time()
    await asyncio.sleep(seconds)
    count1, t1 = EchoCounter.count, time.perf_counter()
    cpu1 = time.process_time()
    EchoCounter.running = False
    for transport in transports:
        transport.send_close()
        transport.disconnect()
    elapsed = t1 - t0
    messages = count1 - count0
    return {
        "messages": messages,
        "seconds": round(elapsed, 3),
        "msgPerSecond": round(messages / elapsed, 1),
        "cpuSecondsPerMessageUs": round((cpu1 - cpu0) / max(messages, 1) * 1e6, 2),
    }


class Idle(WSListener):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.CLOSE:
            transport.disconnect()


IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def bound_socket_factory(source: str) -> Callable[[Any], socket.socket]:
    """Sockets bound to ``source`` with the port left to connect() (IP_BIND_ADDRESS_NO_PORT).

    A plain ``bind((source, 0))`` (asyncio's ``local_addr``) reserves a port at bind time, and the
    kernel's search for a free one grows with every port taken: tens of thousands of binds go
    quadratic (minutes of system time). Deferring the port to connect() keeps it cheap.
    """

    def factory(_url: Any) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source, 0))
        sock.setblocking(False)
        return sock

    return factory


async def hold(url: str, connections: int, concurrency: int, hold_s: float, read_buffer: int,
               source: str | None = None) -> dict[str, Any]:
    me = psutil.Process()
    rss0 = me.memory_info().rss
    gate = asyncio.Semaphore(concurrency)
    bind: dict[str, Any] = {"socket_factory": bound_socket_factory(source)} if source else {}
    transports: list[WSTransport] = []
    failures: dict[str, int] = {}

    async def one() -> None:
        async with gate:
            try:
                transport, _ = await ws_connect(Idle, url, read_buffer_init_size=read_buffer, **bind)
            except Exception as error:
                kind = f"{type(error).__name__}: {error}"[:120]
                failures[kind] = failures.get(kind, 0) + 1
                return
            transports.append(transport)

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(connections)))
    elapsed = time.perf_counter() - t0
    await asyncio.sleep(min(1.0, hold_s))
    rss1 = me.memory_info().rss
    await asyncio.sleep(max(0.0, hold_s - 1.0))
    opened = len(transports)
    for transport in transports:
        transport.disconnect()
    return {
        "opened": opened,
        "failed": failures,
        "secondsToOpen": round(elapsed, 3),
        "opensPerSecond": round(opened / elapsed, 1) if elapsed else 0.0,
        "rssBefore": rss0,
        "rssPlateau": rss1,
        "rssPerConnectionBytes": round((rss1 - rss0) / opened) if opened else None,
        "readBufferInitSize": read_buffer,
        "source": source,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    p_echo = sub.add_parser("echo")
    p_echo.add_argument("url")
    p_echo.add_argument("--connections", type=int, default=50)
    p_echo.add_argument("--seconds", type=float, default=10.0)
    p_echo.add_argument("--warmup", type=float, default=0.5)
    p_hold = sub.add_parser("hold")
    p_hold.add_argument("url")
    p_hold.add_argument("--connections", type=int, default=10_000)
    p_hold.add_argument("--concurrency", type=int, default=256)
    p_hold.add_argument("--hold", type=float, default=2.0)
    p_hold.add_argument("--read-buffer", type=int, default=1024)
    p_hold.add_argument("--source", default=None, help="local address to bind, e.g. 127.0.0.2")
    args = parser.parse_args()
    raise_nofile()
    if args.mode == "echo":
        result = uvloop.run(echo(args.url, args.connections, args.seconds, args.warmup))
    else:
        result = uvloop.run(hold(args.url, args.connections, args.concurrency, args.hold, args.read_buffer,
                                 args.source))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
