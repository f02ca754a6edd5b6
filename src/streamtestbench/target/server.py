"""Run the target: open the listening socket, serve until SIGINT/SIGTERM, then leave cleanly.

Shutdown order: stop accepting, close every WebSocket with 1001 and every idle HTTP connection,
give them up to a second to finish, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from .config import TargetConfig
from .context import StatsSource, TargetContext
from .http_protocol import HttpProtocol
from .http_routes import Router, default_router
from .nats_relay import RelayStartError, start_relay
from .netutil import listen_socket
from .stats import Stats
from .ticker import BroadcastTicker

__all__ = ["SHUTDOWN_GRACE_SECONDS", "listening_line", "run_target", "serve", "start_target"]

SHUTDOWN_GRACE_SECONDS = 1.0

OnListening = Callable[[str, int], None]


def listening_line(url_host: str, port: int) -> str:
    """The one line the target prints on start; TargetProcess and scripts parse it."""
    return f"streamtestbench target listening on http://{url_host}:{port} (ws://{url_host}:{port}/ws)"


def _print_listening(url_host: str, port: int) -> None:
    print(listening_line(url_host, port), flush=True)


async def start_target(
    config: TargetConfig,
    *,
    sock: socket.socket | None = None,
    router: Router | None = None,
    stats: Stats | None = None,
    stats_source: StatsSource | None = None,
) -> tuple[TargetContext, asyncio.AbstractServer, BroadcastTicker | None]:
    """Start serving on the running loop; the caller owns stopping (see :func:`stop_target`)."""
    loop = asyncio.get_running_loop()
    ctx = TargetContext(config, stats=stats, stats_source=stats_source)
    routes = router or default_router()

    def protocol_factory() -> HttpProtocol:
        return HttpProtocol(ctx, routes)

    if sock is None:
        sock = listen_socket(config.bind_host, config.port)
    server: asyncio.AbstractServer
    if config.use_aiofastnet:
        import aiofastnet

        server = await aiofastnet.create_server(loop, protocol_factory, sock=sock, backlog=config.backlog)
    else:
        server = await loop.create_server(protocol_factory, sock=sock, backlog=config.backlog)
    ticker = None
    if config.broadcast_rate > 0:
        ticker = BroadcastTicker(ctx, config.broadcast_rate, loop)
        ticker.start()
    return ctx, server, ticker


async def stop_target(
    ctx: TargetContext,
    server: asyncio.AbstractServer,
    ticker: BroadcastTicker | None,
    grace: float = SHUTDOWN_GRACE_SECONDS,
) -> None:
    """Stop accepting, say goodbye to every connection, wait up to ``grace`` for them to go."""
    loop = asyncio.get_running_loop()
    ctx.stopping = True
    if ticker is not None:
        ticker.stop()
    server.close()
    for connection in list(ctx.connections):
        connection.shutdown()
    deadline = loop.time() + grace
    while ctx.connections and loop.time() < deadline:
        await asyncio.sleep(0.01)


def bound_port(server: asyncio.AbstractServer) -> int:
    sockets = getattr(server, "sockets", None) or ()
    for sock in sockets:
        return int(sock.getsockname()[1])
    raise RuntimeError("server has no listening socket")


async def run_target(
    config: TargetConfig,
    *,
    on_listening: OnListening = _print_listening,
    stop: asyncio.Event | None = None,
    sock: socket.socket | None = None,
    stats: Stats | None = None,
    stats_source: StatsSource | None = None,
    on_started: Callable[[TargetContext], None] | None = None,
) -> None:
    """Serve until ``stop`` is set or SIGINT/SIGTERM arrives."""
    loop = asyncio.get_running_loop()
    stop_event = stop or asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop_event.set)
    ctx, server, ticker = await start_target(config, sock=sock, stats=stats, stats_source=stats_source)
    relay = None
    try:
        relay = await start_relay(ctx)  # subscribed before the listening line, so publishes are not missed
        if on_started is not None:
            on_started(ctx)
        on_listening(config.url_host(), bound_port(server))
        await stop_event.wait()
    finally:
        if relay is not None:
            await relay.stop()
        await stop_target(ctx, server, ticker)


def run_loop(main: Callable[[], Coroutine[Any, Any, None]], *, use_uvloop: bool) -> None:
    """Run a coroutine function on uvloop when available (and wanted), else on asyncio."""
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(main())
            return
    asyncio.run(main())


def serve(config: TargetConfig, *, on_listening: OnListening = _print_listening) -> int:
    """Blocking entry point behind ``streamtestbench target``; returns the exit code."""
    config.validate()
    if config.workers > 1:
        from .workers import serve_workers

        return serve_workers(config, on_listening=on_listening)
    try:
        run_loop(lambda: run_target(config, on_listening=on_listening), use_uvloop=config.use_uvloop)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"streamtestbench target: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    except RelayStartError as exc:
        print(f"streamtestbench target: {exc}", file=sys.stderr)
        return 1
    return 0
