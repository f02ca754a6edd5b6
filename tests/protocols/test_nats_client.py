"""The asyncio NATS client against nats-server on 127.0.0.1:4222 and against scripted fake servers."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from streamtestbench.protocols.nats import (
    Msg,
    NatsConnectionClosed,
    NatsPayloadTooLarge,
    NatsServerError,
)
from streamtestbench.protocols.nats_client import NatsClient

NATS_URL = "nats://127.0.0.1:4222"


# -- live against nats-server on 127.0.0.1:4222 -------------------------------------------------
live = pytest.mark.integration


@live
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_publish_subscribe_round_trip_through_nats_server(loop: str) -> None:
    subject = f"stb.test.{uuid.uuid4().hex}"

    async def scenario() -> list[Msg]:
        subscriber = await NatsClient.connect(NATS_URL, name="stb-test-sub")
        publisher = await NatsClient.connect(NATS_URL, name="stb-test-pub")
        got: list[Msg] = []
        done = asyncio.get_running_loop().create_future()

        def on_message(msg: Msg) -> None:
            got.append(msg)
            if len(got) == 500 and not done.done():
                done.set_result(None)

        sid = subscriber.subscribe(subject + ".>", on_message)
        await subscriber.flush()
        for index in range(499):
            publisher.publish(f"{subject}.n", b"%d" % index)
        publisher.publish(f"{subject}.h", b"last", headers={"X-Seq": "499"})
        await publisher.flush()
        await asyncio.wait_for(done, 5)
        assert subscriber.delivered(sid) == 500
        subscriber.unsubscribe(sid)
        await subscriber.flush()
        publisher.publish(f"{subject}.n", b"after")
        await publisher.flush()
        await subscriber.flush()
        await publisher.close()
        await subscriber.close()
        assert subscriber.is_closed
        return got

    if loop == "uvloop":
        import uvloop

        got = uvloop.run(scenario())
    else:
        got = asyncio.run(scenario())
    assert [m.payload for m in got[:499]] == [b"%d" % i for i in range(499)]
    assert got[499].payload == b"last" and got[499].headers == {"X-Seq": "499"}
    assert len(got) == 500  # nothing after the unsubscribe


@live
def test_a_payload_over_max_payload_is_refused_before_it_reaches_the_server() -> None:
    async def scenario() -> bool:
        client = await NatsClient.connect(NATS_URL)
        assert client.info is not None
        with pytest.raises(NatsPayloadTooLarge, match="max_payload"):
            client.publish("a.b", b"x" * (client.info.max_payload + 1))
        await client.flush()  # the connection is still good
        closed = client.is_closed
        await client.close()
        return closed

    assert asyncio.run(scenario()) is False


async def fake_server(script: bytes) -> tuple[asyncio.Server, int]:
    """A server that sends INFO, answers CONNECT+PING, then answers the next PING with PONG + ``script``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'INFO {"server_id":"fake","headers":false}\r\n')
        await reader.readline()  # CONNECT
        await reader.readline()  # PING
        writer.write(b"PONG\r\n")
        await reader.readline()  # the test's flush(): connect() has returned by then
        writer.write(b"PONG\r\n" + script)
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_a_server_error_after_connect_is_reported_and_the_close_noticed() -> None:
    async def scenario() -> tuple[list[str], str | None, bool]:
        server, port = await fake_server(b"-ERR 'Slow Consumer'\r\n")
        async with server:
            client = await NatsClient.connect(f"nats://127.0.0.1:{port}")
            errors: list[str] = []
            client.on_error = errors.append
            await client.flush()
            await asyncio.wait_for(client.wait_closed(), 5)
            with pytest.raises(NatsConnectionClosed, match="Slow Consumer"):
                client.publish("a", b"x")
            return errors, client.last_error, client.is_closed

    assert asyncio.run(scenario()) == (["Slow Consumer"], "Slow Consumer", True)


def test_a_server_ping_is_answered_and_a_protocol_violation_closes_the_connection() -> None:
    async def scenario() -> str | None:
        server, port = await fake_server(b"PING\r\nBOGUS\r\n")
        async with server:
            client = await NatsClient.connect(f"nats://127.0.0.1:{port}")
            await client.flush()
            await asyncio.wait_for(client.wait_closed(), 5)
            return client.last_error

    last = asyncio.run(scenario())
    assert last is not None and last.startswith("protocol error: unknown operation")


def test_connecting_to_a_closed_port_raises_connection_closed() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NatsConnectionClosed, match="cannot connect"):
        asyncio.run(NatsClient.connect(f"nats://127.0.0.1:{port}", timeout_s=2))


def test_a_silent_server_is_a_connect_timeout() -> None:
    async def scenario() -> None:
        silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        async with silent:
            await NatsClient.connect(f"nats://127.0.0.1:{port}", timeout_s=0.3)

    with pytest.raises(Exception, match="no answer"):
        asyncio.run(scenario())


def test_a_fake_server_refusing_connect_gives_its_error() -> None:
    async def scenario() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b'INFO {"server_id":"fake","headers":false}\r\n')
            await reader.readline()  # CONNECT + PING arrive together
            writer.write(b"-ERR 'Authorization Violation'\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            await NatsClient.connect(f"nats://127.0.0.1:{port}", timeout_s=2)

    with pytest.raises(NatsServerError, match="Authorization Violation"):
        asyncio.run(scenario())
