"""The asyncio client against mosquitto on 127.0.0.1:1883: QoS levels, sessions, wildcards, retain, will."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streamtestbench.protocols.mqtt import MQTT_5, MQTT_311, MqttConnectError, PublishEncoder, Will, open_mqtt
from streamtestbench.protocols.mqtt.codec import Prop
from streamtestbench.protocols.mqtt.session import ClientSession, SessionConfig

from ._support import HOST, PORT, Inbox, connect, subscribe, unique_prefix

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("version", [MQTT_311, MQTT_5])
def test_each_qos_level_round_trips(version: int) -> None:
    async def scenario() -> tuple[list[tuple[str, bytes, int]], list[tuple[object, int]]]:
        prefix = unique_prefix()
        inbox = Inbox()
        conn, session, _ = await connect(prefix.replace("/", "-"), inbox, version=version)
        assert await subscribe(conn, session, inbox, f"{prefix}/#", qos=2) == [2]
        for qos in (0, 1, 2):
            session.publish(PublishEncoder(f"{prefix}/q{qos}", qos, version=version), b"m%d" % qos, f"token{qos}")
        conn.flush()
        await inbox.wait("messages", 3)
        await inbox.wait("done", 2)
        await conn.close()
        return sorted((m.topic, m.payload, m.qos) for m in inbox.messages), sorted(inbox.done, key=str)

    messages, done = asyncio.run(scenario())
    assert [(topic.rsplit("/", 1)[1], payload, qos) for topic, payload, qos in messages] == \
        [("q0", b"m0", 0), ("q1", b"m1", 1), ("q2", b"m2", 2)]
    assert done == [("token1", 0), ("token2", 0)]


@pytest.mark.parametrize("version", [MQTT_311, MQTT_5])
def test_persistent_session_keeps_subscriptions_and_queued_messages(version: int) -> None:
    async def scenario() -> tuple[bool, bool, list[bytes]]:
        prefix = unique_prefix()
        client_id = "stb-persist-" + prefix.rsplit("/", 1)[1][:12]
        inbox = Inbox()
        conn, session, first = await connect(client_id, inbox, version=version, clean=False)
        await subscribe(conn, session, inbox, f"{prefix}/queue", qos=1)
        await conn.close()
        publisher = Inbox()
        pub_conn, pub_session, _ = await connect(client_id + "-pub", publisher, version=version)
        for n in range(3):
            pub_session.publish(PublishEncoder(f"{prefix}/queue", 1, version=version), b"queued-%d" % n, n)
        pub_conn.flush()
        await publisher.wait("done", 3)
        await pub_conn.close()
        again = Inbox()
        conn, _resumed_session, second = await connect(client_id, again, version=version, clean=False)
        await again.wait("messages", 3)
        await conn.close()
        cleanup = Inbox()
        conn, _, _ = await connect(client_id, cleanup, version=version, clean=True)
        await conn.close()
        return first.session_present, second.session_present, [m.payload for m in again.messages]

    first_present, second_present, payloads = asyncio.run(scenario())
    assert (first_present, second_present) == (False, True)
    assert payloads == [b"queued-0", b"queued-1", b"queued-2"]


def test_wildcards_single_and_multi_level() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        prefix = unique_prefix()
        plus, hash_ = Inbox(), Inbox()
        plus_conn, plus_session, _ = await connect("stb-plus-" + prefix[-12:], plus)
        hash_conn, hash_session, _ = await connect("stb-hash-" + prefix[-12:], hash_)
        await subscribe(plus_conn, plus_session, plus, f"{prefix}/+/temp")
        await subscribe(hash_conn, hash_session, hash_, f"{prefix}/a/#")
        pub = Inbox()
        pub_conn, pub_session, _ = await connect("stb-wpub-" + prefix[-12:], pub)
        for topic in ("x/temp", "y/hum", "a/temp", "a/b/c", "a", "x/y/temp"):
            pub_session.publish(PublishEncoder(f"{prefix}/{topic}", 1), b"v", topic)
        pub_conn.flush()
        await pub.wait("done", 6)
        await plus.wait("messages", 2)
        await hash_.wait("messages", 3)
        await asyncio.sleep(0.1)
        for conn in (plus_conn, hash_conn, pub_conn):
            await conn.close()
        cut = len(prefix) + 1
        return sorted(m.topic[cut:] for m in plus.messages), sorted(m.topic[cut:] for m in hash_.messages)

    plus, hash_ = asyncio.run(scenario())
    assert plus == ["a/temp", "x/temp"]
    assert hash_ == ["a", "a/b/c", "a/temp"]


def test_retained_message_reaches_a_late_subscriber_until_cleared() -> None:
    async def scenario() -> tuple[list[tuple[bytes, bool]], list[bytes]]:
        prefix = unique_prefix()
        topic = f"{prefix}/status"
        pub = Inbox()
        pub_conn, pub_session, _ = await connect("stb-rpub-" + prefix[-12:], pub)
        pub_session.publish(PublishEncoder(topic, 1, retain=True), b"online", "set")
        pub_conn.flush()
        await pub.wait("done", 1)
        late = Inbox()
        late_conn, late_session, _ = await connect("stb-rlate-" + prefix[-12:], late)
        await subscribe(late_conn, late_session, late, topic, qos=1)
        await late.wait("messages", 1)
        await late_conn.close()
        pub_session.publish(PublishEncoder(topic, 1, retain=True), b"", "clear")
        pub_conn.flush()
        await pub.wait("done", 2)
        after = Inbox()
        after_conn, after_session, _ = await connect("stb-rafter-" + prefix[-12:], after)
        await subscribe(after_conn, after_session, after, topic, qos=1)
        await asyncio.sleep(0.2)
        await after_conn.close()
        await pub_conn.close()
        return [(m.payload, m.retain) for m in late.messages], [m.payload for m in after.messages]

    retained, after_clear = asyncio.run(scenario())
    assert retained == [(b"online", True)]
    assert after_clear == []


def test_mqtt5_connect_with_properties() -> None:
    async def scenario() -> dict[int, Any]:
        inbox = Inbox()
        conn, session, connected = await connect(
            "stb-v5props-" + unique_prefix()[-12:], inbox, version=MQTT_5, receive_maximum=50,
            username="load", password="secret",
            session_expiry_s=0, properties={Prop.USER_PROPERTY: [("run", "test")], Prop.MAXIMUM_PACKET_SIZE: 65536})
        assert session.connected
        await conn.close()
        return dict(connected.properties or {})

    props = asyncio.run(scenario())
    assert props[Prop.RECEIVE_MAXIMUM] > 0  # the broker's own limit, which bounds our QoS 1/2 window


def test_keepalive_pings_keep_an_idle_connection_open() -> None:
    async def scenario() -> tuple[bool, int]:
        inbox = Inbox()
        conn, _session, _ = await connect("stb-idle-" + unique_prefix()[-12:], inbox, keepalive_s=1)
        await asyncio.sleep(2.6)  # mosquitto closes a connection silent for 1.5 x keepalive
        still_open = conn.is_open
        received = conn.bytes_received
        await conn.close()
        return still_open, received

    still_open, received = asyncio.run(scenario())
    assert still_open
    assert received >= 4 + 2  # CONNACK and PINGRESPs


def test_mqtt5_refused_connack_becomes_a_reason_error() -> None:
    async def scenario() -> str:
        session = ClientSession(SessionConfig("stb-badauth-" + unique_prefix()[-12:], version=MQTT_5,
                                              properties={Prop.AUTHENTICATION_METHOD: "NO-SUCH-METHOD"}))
        try:
            await open_mqtt(HOST, PORT, session, Inbox(), timeout_s=5)
        except MqttConnectError as error:
            return error.kind
        return "connected"

    assert asyncio.run(scenario()) == "mqtt reason 0x8c"


def test_mqtt311_refused_connack_names_its_return_code() -> None:
    async def scenario() -> str:
        session = ClientSession(SessionConfig("", clean=False))  # 3.1.1: an empty id needs a clean session
        try:
            await open_mqtt(HOST, PORT, session, Inbox(), timeout_s=5)
        except MqttConnectError as error:
            return error.kind
        return "connected"

    assert asyncio.run(scenario()) == "mqtt connack refused 0x02"


@pytest.mark.parametrize("version", [MQTT_311, MQTT_5])
def test_will_is_published_when_a_client_vanishes(version: int) -> None:
    async def scenario() -> list[bytes]:
        prefix = unique_prefix()
        watcher = Inbox()
        watch_conn, watch_session, _ = await connect("stb-watch-" + prefix[-12:], watcher, version=version)
        await subscribe(watch_conn, watch_session, watcher, f"{prefix}/will", qos=1)
        doomed, _, _ = await connect("stb-doomed-" + prefix[-12:], Inbox(), version=version,
                                     will=Will(f"{prefix}/will", b"gone", qos=1))
        doomed.abort("test")
        await watcher.wait("messages", 1)
        polite, _, _ = await connect("stb-polite-" + prefix[-12:], Inbox(), version=version,
                                     will=Will(f"{prefix}/will", b"never", qos=1))
        await polite.close()
        await asyncio.sleep(0.2)
        await watch_conn.close()
        return [m.payload for m in watcher.messages]

    assert asyncio.run(scenario()) == [b"gone"]


def test_server_disconnect_reason_is_the_close_error() -> None:
    async def scenario() -> str | None:
        inbox = Inbox()
        conn, session, _ = await connect("stb-badsub-" + unique_prefix()[-12:], inbox, version=MQTT_5)
        session.subscribe([("a/#/b", 0)], "bad")  # an invalid filter: mosquitto disconnects with 0x81
        conn.flush()
        return await asyncio.wait_for(conn.closed, 5)

    assert asyncio.run(scenario()) == "mqtt server disconnect 0x81"


def test_connection_refused_is_a_connect_error() -> None:
    async def scenario() -> str:
        try:
            await open_mqtt(HOST, 1, ClientSession(SessionConfig("x")), Inbox(), timeout_s=2)
        except MqttConnectError as error:
            return error.kind
        return "connected"

    assert asyncio.run(scenario()) == "Connection refused"


def test_malformed_bytes_from_the_server_close_the_connection_with_a_clear_reason() -> None:
    async def scenario() -> tuple[str | None, str | None]:
        async def fake_broker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1024)  # CONNECT
            writer.write(b"\x20\x02\x00\x00" + b"\x36\x03\x00\x01a")  # CONNACK, then a QoS 3 PUBLISH
            await writer.drain()
            await reader.read(1024)
            writer.close()

        server = await asyncio.start_server(fake_broker, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            inbox = Inbox()
            conn, _connected = await open_mqtt(HOST, port, ClientSession(SessionConfig("x")), inbox, timeout_s=5)
            error = await asyncio.wait_for(conn.closed, 5)
            return error, conn.protocol_error

    error, detail = asyncio.run(scenario())
    assert error == "mqtt protocol error"
    assert detail is not None and "QoS 3" in detail
