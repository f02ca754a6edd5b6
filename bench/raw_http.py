"""The floor every HTTP benchmark compares against: a raw asyncio Protocol + httptools on uvloop.

N keep-alive connections, closed loop: each sends the next GET from its ``on_message_complete``
callback, so every connection keeps exactly one request in flight. Counts responses in a window
of ``--duration`` seconds that starts once every connection is open and sending, and prints one
JSON line: ``{"requests_per_s": ..., "responses": ..., "seconds": ..., "connections": ...,
"cpu_us_per_request": ...}`` (the last is this process's CPU time per response: steadier than the
rate on a busy machine).

    .venv/bin/python bench/raw_http.py --url http://127.0.0.1:8080/ --connections 50 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any, cast
from urllib.parse import urlsplit

import httptools
import uvloop


class Counter:
    responses = 0
    running = False


class GetLoop(asyncio.Protocol):
    """One connection: parse responses with httptools, send the next request when one completes."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        Counter.responses += 1
        if Counter.running and self.transport is not None:
            self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def get_request(url: str) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: keep-alive\r\n\r\n"
    return host, port, head.encode()


async def measure(url: str, connections: int, duration: float, warmup: float) -> dict[str, Any]:
    host, port, request = get_request(url)
    loop = asyncio.get_running_loop()
    transports = []
    for _ in range(connections):
        transport, _protocol = await loop.create_connection(lambda: GetLoop(request), host, port)
        transports.append(transport)
    Counter.running = True
    for transport in transports:
        transport.write(request)
    await asyncio.sleep(warmup)
    start_count, start, start_cpu = Counter.responses, time.perf_counter(), time.process_time()
    await asyncio.sleep(duration)
    responses, elapsed = Counter.responses - start_count, time.perf_counter() - start
    cpu = time.process_time() - start_cpu
    Counter.running = False
    for transport in transports:
        transport.close()
    return {"requests_per_s": round(responses / elapsed, 1), "responses": responses,
            "seconds": round(elapsed, 3), "connections": connections,
            "cpu_us_per_request": round(cpu * 1e6 / max(responses, 1), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/path (loopback)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    host = urlsplit(args.url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        parser.error("the benchmark only targets loopback addresses")
    result = uvloop.run(measure(args.url, args.connections, args.duration, args.warmup))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
