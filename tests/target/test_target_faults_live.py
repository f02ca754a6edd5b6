"""Injected faults over real sockets: stall, slow, drop, reset; set at start or switched at run time."""

from __future__ import annotations

import http.client
import statistics
import time
from collections.abc import Iterator

import pytest
from _target_client import WSClient, http_json, http_request, run
from picows import WSMsgType

from streamtestbench.target.faults import parse_fault
from streamtestbench.target.process import TargetProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def faulty() -> Iterator[TargetProcess]:
    with TargetProcess("--broadcast-rate", "0", "--seed", "3") as process:
        yield process


@pytest.fixture
def fault(faulty: TargetProcess) -> Iterator[TargetProcess]:
    """The module's target, with every fault cleared again after the test."""
    yield faulty
    http_json(faulty.port, "POST", "/admin/faults", {"clear": True})


def set_fault(target: TargetProcess, spec: str) -> None:
    normal = parse_fault(spec).spec()
    assert http_json(target.port, "POST", "/admin/faults", {"fault": spec}) == {"faults": [normal]}


async def ping_rtt(ws: WSClient, i: int, timeout: float = 5.0) -> float:
    start = time.monotonic()
    ws.send_json({"type": "ping", "id": i})
    assert (await ws.recv_json(timeout))["id"] == i
    return time.monotonic() - start


def test_runtime_switching(fault: TargetProcess) -> None:
    assert http_json(fault.port, "GET", "/admin/faults") == {"faults": []}
    set_fault(fault, "slow:5")
    both = http_json(fault.port, "POST", "/admin/faults", {"faults": ["drop:0.5", "stall:1@10"]})
    assert both == {"faults": ["drop:0.5", "stall:1@10"]}
    assert http_json(fault.port, "GET", "/stats")["faults"]["active"] == ["drop:0.5", "stall:1@10"]
    status, _, body = http_request(fault.port, "POST", "/admin/faults", {"fault": "explode:1"})
    assert status == 400 and b"explode:1" in body and b"stall:SECONDS[@AFTER]" in body
    assert http_json(fault.port, "POST", "/admin/faults", {"clear": True}) == {"faults": []}


def test_slow_adds_the_delay_to_every_reply(fault: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(fault.ws_url)
        baseline = statistics.median([await ping_rtt(ws, i) for i in range(10)])
        set_fault(fault, "slow:10")
        slowed = [await ping_rtt(ws, i) for i in range(20)]
        assert min(slowed) >= 0.0095  # never early
        assert 0.0095 <= statistics.median(slowed) - baseline < 0.2
        ws.send_bytes(b"binary echo is delayed too")
        start = time.monotonic()
        assert (await ws.recv()).payload == b"binary echo is delayed too"
        assert time.monotonic() - start >= 0.0095
        await ws.close()

    run(scenario())
    start = time.monotonic()
    assert http_request(fault.port, "GET", "/echo")[0] == 200
    assert time.monotonic() - start >= 0.0095
    assert http_json(fault.port, "GET", "/stats")["faults"]["applied"]["slow"] >= 21


def test_stall_holds_replies_then_releases_them_in_order(fault: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(fault.ws_url)
        assert await ping_rtt(ws, 0) < 0.5
        set_fault(fault, "stall:0.8")
        sent_at = time.monotonic()
        for i in range(1, 6):
            ws.send_json({"type": "ping", "id": i})
            ws.send_bytes(b"b%d" % i)
        got = [await ws.recv(timeout=5) for _ in range(10)]
        waited = time.monotonic() - sent_at
        assert 0.6 <= waited < 2.5  # held for about the stall, not forever
        ids = [g.json()["id"] if g.msg_type == WSMsgType.TEXT else g.payload for g in got]
        assert ids == [x for i in range(1, 6) for x in (i, b"b%d" % i)]  # arrival order kept
        assert await ping_rtt(ws, 99) < 0.5  # the stall happens once
        await ws.close()

    run(scenario())


def test_stall_does_not_block_the_event_loop(fault: TargetProcess) -> None:
    set_fault(fault, "stall:1.0")
    start = time.monotonic()
    # Operations endpoints are exempt from faults, and answer while replies are held.
    assert http_request(fault.port, "GET", "/health")[0] == 200
    assert time.monotonic() - start < 0.5
    status, _, _ = http_request(fault.port, "GET", "/echo")
    assert status == 200 and time.monotonic() - start >= 0.7


def test_drop_all_gives_no_replies_and_clear_restores_them(fault: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(fault.ws_url)
        set_fault(fault, "drop:1.0")
        ws.send_json({"type": "ping", "id": 1})
        ws.send_bytes(b"gone")
        assert await ws.nothing_for(0.4)
        http_json(fault.port, "POST", "/admin/faults", {"clear": True})  # ops routes are never dropped
        assert await ping_rtt(ws, 2) < 0.5
        await ws.close()

    run(scenario())
    set_fault(fault, "drop:1.0")
    with pytest.raises(TimeoutError):
        http_request(fault.port, "GET", "/echo", timeout=0.4)
    assert http_json(fault.port, "GET", "/stats")["faults"]["applied"]["drop"] >= 3


def test_reset_all_aborts_the_connection(fault: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(fault.ws_url)
        set_fault(fault, "reset:1.0")
        ws.send_json({"type": "ping"})
        await ws.wait_disconnected()
        assert ws.server_close_code is None  # no CLOSE frame: the TCP connection was aborted

    run(scenario())
    conn = http.client.HTTPConnection("127.0.0.1", fault.port, timeout=3)
    try:
        conn.request("GET", "/echo")
        with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
            conn.getresponse()
    finally:
        conn.close()
    assert http_json(fault.port, "GET", "/stats")["faults"]["applied"]["reset"] >= 2


def test_drop_at_a_fraction_is_roughly_that_fraction(fault: TargetProcess) -> None:
    async def scenario() -> int:
        ws = await WSClient.connect(fault.ws_url)
        set_fault(fault, "drop:0.5")
        for i in range(400):
            ws.send_bytes(b"%d" % i)
        http_json(fault.port, "POST", "/admin/faults", {"clear": True})
        ws.send_bytes(b"end")
        got = 0
        while (await ws.recv()).payload != b"end":
            got += 1
        await ws.close()
        return got

    assert 120 < run(scenario()) < 280


def test_fault_given_at_start_counts_from_start() -> None:
    with TargetProcess("--broadcast-rate", "0", "--fault", "stall:0.6@0.4", "--fault", "slow:1") as target:

        async def scenario() -> list[float]:
            ws = await WSClient.connect(target.ws_url)
            rtts = []
            deadline = time.monotonic() + 1.6
            i = 0
            while time.monotonic() < deadline:
                rtts.append(await ping_rtt(ws, i))
                i += 1
            await ws.close()
            return rtts

        rtts = run(scenario())
        assert max(rtts) >= 0.2  # somebody waited for the stall to end
        assert max(rtts) < 1.2
        assert min(rtts) >= 0.00095  # slow:1 applies to every reply
        stats = http_json(target.port, "GET", "/stats")
        assert stats["faults"]["active"] == ["stall:0.6@0.4", "slow:1"]
        assert stats["faults"]["applied"]["stall"] >= 1


def test_dropped_disconnect_still_closes_and_mobile_sync_is_faulted_too(fault: TargetProcess) -> None:
    async def scenario() -> None:
        ws = await WSClient.connect(fault.ws_url)
        set_fault(fault, "drop:1")
        ws.send_json({"type": "disconnect"})
        closing = await ws.recv()  # no disconnect_ack: it was dropped, but the close still comes
        assert closing.msg_type == WSMsgType.CLOSE and closing.close_code == 1000
        await ws.wait_disconnected()

        set_fault(fault, "slow:50")
        mobile = await WSClient.connect(f"ws://{fault.host}:{fault.port}/ws/mobile/sync/?device_id=d")
        start = time.monotonic()
        mobile.send_json({"correlation_id": "x"})
        assert (await mobile.recv_json())["correlation_id"] == "x"
        assert time.monotonic() - start >= 0.049
        await mobile.close()

    run(scenario())
