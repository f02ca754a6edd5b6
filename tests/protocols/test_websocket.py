"""The measured WebSocket connection: failures get a person's name for their kind."""

from __future__ import annotations

import asyncio
import socket

from streamtestbench.engine.recording import NullRecorder
from streamtestbench.protocols.websocket import open_connection


class FailureRecorder(NullRecorder):
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.attempts = 0

    def connection_attempt(self) -> None:
        self.attempts += 1

    def connection_failed(self, error: str) -> None:
        self.failures.append(error)


def test_a_closed_port_is_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    recorder = FailureRecorder()
    result = asyncio.run(open_connection(f"ws://127.0.0.1:{port}/ws", {}, 2.0, recorder))
    assert result is None
    assert (recorder.attempts, recorder.failures) == (1, ["Connection refused"])


def test_a_server_that_never_answers_the_handshake_is_a_connection_timeout() -> None:
    async def scenario() -> FailureRecorder:
        silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        recorder = FailureRecorder()
        async with silent:
            result = await open_connection(f"ws://127.0.0.1:{port}/ws", {}, 0.3, recorder)
        assert result is None
        return recorder

    recorder = asyncio.run(scenario())
    assert recorder.failures == ["Connection timeout"]


def test_connections_can_leave_from_another_loopback_source_address() -> None:
    from streamtestbench.target.process import TargetProcess

    class Opened(FailureRecorder):
        def __init__(self) -> None:
            super().__init__()
            self.opened = 0

        def connection_open(self, connect_ns: int) -> None:
            self.opened += 1

    async def scenario(port: int) -> tuple[str, Opened]:
        recorder = Opened()
        connection = await open_connection(f"ws://127.0.0.1:{port}/ws", {}, 5.0, recorder, "127.0.0.7")
        assert connection is not None and connection.transport is not None
        source = connection.transport.underlying_transport.get_extra_info("sockname")[0]
        connection.close()
        await connection.closed
        return source, recorder

    with TargetProcess() as target:
        source, recorder = asyncio.run(scenario(target.port))
    assert source == "127.0.0.7"
    assert (recorder.opened, recorder.failures) == (1, [])
