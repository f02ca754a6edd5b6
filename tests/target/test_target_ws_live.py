"""The /ws protocol and /ws/mobile/sync/ over real sockets, with a plain picows client."""

from __future__ import annotations

import json
import time

import pytest
from _target_client import WSClient, masked_frame, raw_exchange, run, upgrade_request
from picows import WSHandshakeError, WSMsgType

from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration


def test_every_seed_003_message_type(target: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(target.ws_url)
        ws.send_json({"type": "ping"})
        assert await ws.recv_json() == {"type": "pong"}
        ws.send_json({"type": "ping", "id": 42, "timestamp": 1700000000123})
        assert await ws.recv_json() == {"type": "pong", "id": 42, "timestamp": 1700000000123}
        ws.send_json({"type": "subscribe", "channel": "agents"})
        assert await ws.recv_json() == {"type": "subscribed", "channel": "agents"}
        ws.send_json(
            {
                "type": "agent_message",
                "from": "user_123",
                "to": "agent_456",
                "payload": {"action": "execute", "timestamp": 1234567890, "data": {"test": True}},
            }
        )
        assert await ws.recv_json() == {
            "type": "agent_response",
            "from": "agent_456",
            "to": "user_123",
            "payload": {"status": "processed", "action": "execute", "data": {"test": True}},
            "timestamp": 1234567890,
        }
        ws.send_json({"type": "unsubscribe", "channel": "agents"})
        assert await ws.recv_json() == {"type": "unsubscribed", "channel": "agents"}
        ws.send_json({"type": "disconnect"})
        assert await ws.recv_json() == {"type": "disconnect_ack"}
        closing = await ws.recv()
        assert closing.msg_type == WSMsgType.CLOSE and closing.close_code == 1000
        await ws.wait_disconnected()

    run(scenario())


def test_publish_fans_out_to_subscribers_only(target: TargetProcess) -> None:
    async def scenario() -> None:
        alice, bob, carol = [await WSClient.connect(target.ws_url) for _ in range(3)]
        for client in (alice, bob):
            client.send_json({"type": "subscribe", "channel": "room"})
            assert (await client.recv_json())["type"] == "subscribed"
        carol.send_json({"type": "publish", "channel": "room", "data": {"text": "hi"}})
        carol.send_json({"type": "broadcast", "data": {"channel": "room", "data": "seed-004"}})
        for client in (alice, bob):
            first, second = await client.recv_json(), await client.recv_json()
            assert first["type"] == "broadcast" and first["channel"] == "room"
            assert first["data"] == {"text": "hi"} and second["data"] == "seed-004"
            assert second["seq"] == first["seq"] + 1
            assert isinstance(first["ts"], float) and abs(first["ts"] - time.time() * 1000) < 5000
        assert await carol.nothing_for(0.2)  # the publisher is not subscribed, and gets no ack
        for client in (alice, bob, carol):
            await client.close()

    run(scenario())


@pytest.mark.parametrize(
    ("msg_type", "payload"),
    [
        (WSMsgType.BINARY, bytes(range(100))),
        (WSMsgType.TEXT, b"plain text, not JSON"),
        (WSMsgType.TEXT, b'{"type":"no_such_type","x":1}'),
        (WSMsgType.TEXT, b'{"no_type": true}'),
        (WSMsgType.TEXT, b'[{"type":"ping"}]'),
        (WSMsgType.TEXT, b'{"type":"ping"'),
        (WSMsgType.BINARY, b'{"type":"ping"}'),  # commands are text frames only
        (WSMsgType.BINARY, b""),
        (WSMsgType.BINARY, b"z" * 70_000),
    ],
)
def test_other_frames_are_echoed_unchanged(target: TargetProcess, msg_type: WSMsgType, payload: bytes) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(target.ws_url)
        ws.transport.send(msg_type, payload)
        got = await ws.recv()
        assert (got.msg_type, got.payload) == (msg_type, payload)
        await ws.close()

    run(scenario())


def test_fragmented_message_is_echoed_fragment_by_fragment(target: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(target.ws_url)
        ws.transport.send(WSMsgType.TEXT, b"part one, ", fin=False)
        ws.transport.send(WSMsgType.CONTINUATION, b"part two", fin=True)
        first, second = await ws.recv(), await ws.recv()
        assert (first.msg_type, first.payload) == (WSMsgType.TEXT, b"part one, ")
        assert (second.msg_type, second.payload) == (WSMsgType.CONTINUATION, b"part two")
        await ws.close()

    run(scenario())


def test_ping_control_frame_gets_pong(target: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(target.ws_url)
        rtts = await ws.transport.measure_roundtrip_time(3)
        assert len(rtts) == 3 and all(0 <= rtt < 1 for rtt in rtts)
        await ws.close()

    run(scenario())


def test_frames_sent_with_the_upgrade_request_are_not_lost(target: TargetProcess) -> None:
    # The front protocol replays the request and whatever followed it into picows.
    data = upgrade_request("/ws") + masked_frame(b"early bird") + masked_frame(b'{"type":"ping"}', opcode=0x1)
    reply = raw_exchange(target.port, data, until=b'{"type":"pong"}')
    head, _, frames = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    assert frames.startswith(b"\x82\x0aearly bird")
    assert b'{"type":"pong"}' in frames


def test_mobile_sync_acks_each_payload(target: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(target.url.replace("http", "ws") + "/ws/mobile/sync/?device_id=phone-7")
        before = time.time() * 1000
        ws.send_json({"correlation_id": "c-1", "op": "sync"})
        ws.send_json({"correlationId": "c-2"})
        ws.send_json({"id": 3, "items": [1, 2]})
        ws.send_json({"nothing": "to correlate"})
        acks = [await ws.recv_json() for _ in range(4)]
        assert [a["correlation_id"] for a in acks] == ["c-1", "c-2", 3, None]
        assert all(a["type"] == "ack" and a["device_id"] == "phone-7" for a in acks)
        assert all(before - 1 <= a["server_ts"] <= time.time() * 1000 + 1 for a in acks)
        ws.send_text("not json")
        assert (await ws.recv()).payload == b"not json"
        await ws.close()

    run(scenario())


@pytest.mark.parametrize("path", ["/ws/mobile/sync/", "/ws/mobile/sync/?device_id=", "/ws/mobile/sync"])
def test_mobile_sync_without_device_id_is_400(target: TargetProcess, path: str) -> None:
    async def scenario() -> None:
        with pytest.raises(WSHandshakeError) as info:
            await WSClient.connect(f"ws://{target.host}:{target.port}{path}")
        assert info.value.response is not None and info.value.response.status == 400
        assert b"device_id" in (info.value.raw_body or b"") + (info.value.raw_header or b"")

    run(scenario())


def test_upgrade_to_an_unknown_path_is_404(target: TargetProcess) -> None:
    async def scenario() -> None:
        with pytest.raises(WSHandshakeError) as info:
            await WSClient.connect(f"ws://{target.host}:{target.port}/nope")
        assert info.value.response is not None and info.value.response.status == 404

    run(scenario())


def test_bad_upgrade_requests_are_refused_over_http(target: TargetProcess) -> None:
    no_key = (
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    assert raw_exchange(target.port, no_key).startswith(b"HTTP/1.1 400")
    no_connection = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"
    assert raw_exchange(target.port, no_connection).startswith(b"HTTP/1.1 400")


def test_many_clients_at_once(target: TargetProcess) -> None:
    async def scenario() -> None:
        clients = [await WSClient.connect(target.ws_url) for _ in range(50)]
        for i, client in enumerate(clients):
            client.send_json({"type": "ping", "id": i})
        for i, client in enumerate(clients):
            assert (await client.recv_json())["id"] == i
        for client in clients:
            await client.close()

    run(scenario())


def test_json_text_round_trip_is_byte_exact_for_unknown_types(target: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(target.ws_url)
        payload = json.dumps({"type": "custom", "data": "ünïcödé", "n": [1, 2, 3]}, ensure_ascii=False).encode()
        ws.send_text(payload)
        assert (await ws.recv()).payload == payload
        await ws.close()

    run(scenario())
