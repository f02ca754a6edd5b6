"""Plain publish loops of the Python MQTT peers (gmqtt, aiomqtt), the baselines the engine races.

Runs with the peers' own venv (``bench/.peers/mqttvenv/bin/python``, see peers.py), never the
project's, and prints one JSON line. Each loop is what a careful user of the library would write,
on uvloop (as the engine), MQTT 3.1.1, one connection per role:

- ``qos0``: publish as fast as possible for ``--seconds``, yielding to the event loop every
  ``--batch`` messages so the socket drains; then one QoS 1 publish whose PUBACK proves the broker
  has read everything before it (TCP keeps the order). msg/s = messages / (PUBACK time - start).
- ``qos1``: exactly ``--inflight`` (16) unacknowledged publishes at any time, for ``--seconds``;
  msg/s = acknowledged / elapsed.
- ``e2e``: a subscriber connects and subscribes first, then a publisher sends QoS 0 messages for
  ``--seconds``, each carrying its sequence number; the subscriber counts what arrives until all
  have, or nothing arrived for ``--idle`` seconds. msg/s = received / (last arrival - first
  publish); lost = published - distinct received; duplicates and reordered counted from the
  sequence numbers.

    bench/.peers/mqttvenv/bin/python bench/mqtt_peer_loops.py gmqtt qos0 --port 1883 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

SEQ_BYTES = 8


def payload(seq: int, size: int) -> bytes:
    """``size`` bytes: the sequence number big-endian, then padding."""
    return seq.to_bytes(SEQ_BYTES, "big") + b"x" * max(0, size - SEQ_BYTES)


@dataclass
class SequenceCounter:
    """Counts arrivals of one publisher's sequence numbers without keeping them all (in order is cheap)."""

    received: int = 0
    expected: int = 0
    """The next sequence number in order."""
    behind: int = 0
    """Arrivals with a number below ``expected``: duplicates, or late (reordered) ones."""
    seen_late: set[int] = field(default_factory=set)
    skipped: set[int] = field(default_factory=set)
    """Numbers jumped over: lost unless they arrive late."""
    first_ns: int = 0
    last_ns: int = 0

    def observe(self, seq: int, now_ns: int) -> None:
        self.received += 1
        self.last_ns = now_ns
        if seq == self.expected:
            self.expected += 1
        elif seq > self.expected:
            self.skipped.update(range(self.expected, seq))
            self.expected = seq + 1
        elif seq in self.skipped:
            self.skipped.discard(seq)
            self.seen_late.add(seq)
        else:
            self.behind += 1

    def summary(self, published: int) -> dict[str, int]:
        distinct = self.expected - len(self.skipped)
        return {"received": self.received, "distinct": distinct, "lost": published - distinct,
                "duplicates": self.behind, "reordered": len(self.seen_late)}


# ------------------------------------------------------------------------------------------ gmqtt


async def gmqtt_client(args: argparse.Namespace, name: str, storage: Any = None) -> Any:
    from gmqtt import Client  # type: ignore[import-not-found]
    from gmqtt.mqtt.constants import MQTTv311  # type: ignore[import-not-found]

    client = Client(f"{name}-{time.monotonic_ns()}", persistent_storage=storage)
    await client.connect(args.host, args.port, version=MQTTv311, keepalive=60)
    return client


async def gmqtt_qos0(args: argparse.Namespace) -> dict[str, Any]:
    client = await gmqtt_client(args, "gmqtt-q0")
    data = payload(0, args.payload_bytes)
    sent = 0
    start = time.perf_counter()
    deadline = start + args.seconds
    while time.perf_counter() < deadline:
        for _ in range(args.batch):
            client.publish(args.topic, data, qos=0)
        sent += args.batch
        await asyncio.sleep(0)
    client.publish(args.topic, data, qos=1)  # the barrier: its PUBACK follows everything before it
    await client._persistent_storage.wait_empty()
    elapsed = time.perf_counter() - start
    await client.disconnect()
    return {"messages": sent, "seconds": elapsed, "msgPerSecond": sent / elapsed}


def gmqtt_window_storage(inflight: int) -> Any:
    """gmqtt's in-flight store, told to wake the publisher when a PUBACK frees a slot."""
    from gmqtt.storage import PersistentStorage  # type: ignore[import-not-found]

    class WindowStorage(PersistentStorage):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.acked = 0
            self.slot = asyncio.Event()

        def remove_message_by_mid(self, mid: int) -> None:
            super().remove_message_by_mid(mid)
            self.acked += 1
            self.slot.set()

        def in_flight(self) -> int:
            return len(self._messages)

    return WindowStorage()


async def gmqtt_qos1(args: argparse.Namespace) -> dict[str, Any]:
    storage = gmqtt_window_storage(args.inflight)
    client = await gmqtt_client(args, "gmqtt-q1", storage)
    data = payload(0, args.payload_bytes)
    start = time.perf_counter()
    deadline = start + args.seconds
    while time.perf_counter() < deadline:
        while storage.in_flight() < args.inflight:
            client.publish(args.topic, data, qos=1)
        storage.slot.clear()
        await storage.slot.wait()
    await storage.wait_empty()
    elapsed = time.perf_counter() - start
    await client.disconnect()
    return {"messages": storage.acked, "seconds": elapsed, "msgPerSecond": storage.acked / elapsed,
            "inflight": args.inflight}


async def gmqtt_e2e(args: argparse.Namespace) -> dict[str, Any]:
    counter = SequenceCounter()
    all_in = asyncio.Event()
    published = [-1]

    def on_message(client: Any, topic: str, body: bytes, qos: int, properties: Any) -> int:
        counter.observe(int.from_bytes(body[:SEQ_BYTES], "big"), time.perf_counter_ns())
        if counter.received >= published[0] >= 0:
            all_in.set()
        return 0

    subscriber = await gmqtt_client(args, "gmqtt-sub")
    subscriber.on_message = on_message
    subscribed = asyncio.Event()
    subscriber.on_subscribe = lambda *a: subscribed.set()
    subscriber.subscribe(args.topic, qos=0)
    await asyncio.wait_for(subscribed.wait(), 10)
    publisher = await gmqtt_client(args, "gmqtt-pub")
    seq = 0
    start_ns = time.perf_counter_ns()
    deadline = time.perf_counter() + args.seconds
    while time.perf_counter() < deadline:
        for _ in range(args.batch):
            publisher.publish(args.topic, payload(seq, args.payload_bytes), qos=0)
            seq += 1
        await asyncio.sleep(0)
    published[0] = seq
    if counter.received < seq:
        await wait_idle(all_in, counter, args.idle)
    await publisher.disconnect()
    await subscriber.disconnect()
    return e2e_result(counter, seq, start_ns)


# ---------------------------------------------------------------------------------------- aiomqtt


def aiomqtt_client(args: argparse.Namespace, name: str) -> Any:
    import aiomqtt  # type: ignore[import-not-found]

    quiet = logging.getLogger("stb-bench-aiomqtt")
    quiet.setLevel(logging.ERROR)  # it warns on every publish past 10 pending calls: stderr is not free
    return aiomqtt.Client(args.host, args.port, identifier=f"{name}-{time.monotonic_ns()}", logger=quiet,
                          protocol=aiomqtt.ProtocolVersion.V311, max_inflight_messages=max(args.inflight, 20),
                          max_queued_outgoing_messages=0)


async def aiomqtt_qos0(args: argparse.Namespace) -> dict[str, Any]:
    data = payload(0, args.payload_bytes)
    sent = [0]
    async with aiomqtt_client(args, "aiomqtt-q0") as client:
        start = time.perf_counter()
        deadline = start + args.seconds

        async def lane() -> None:  # ``publish`` returns once paho wrote the packet: lanes overlap that wait
            while time.perf_counter() < deadline:
                await client.publish(args.topic, data, qos=0)
                sent[0] += 1

        await asyncio.gather(*(lane() for _ in range(args.lanes)))
        await client.publish(args.topic, data, qos=1)  # the barrier, as for gmqtt
        elapsed = time.perf_counter() - start
    return {"messages": sent[0], "seconds": elapsed, "msgPerSecond": sent[0] / elapsed, "lanes": args.lanes}


async def aiomqtt_qos1(args: argparse.Namespace) -> dict[str, Any]:
    data = payload(0, args.payload_bytes)
    acked = [0]
    async with aiomqtt_client(args, "aiomqtt-q1") as client:
        start = time.perf_counter()
        deadline = start + args.seconds

        async def lane() -> None:  # one of ``inflight`` publishers, each with one message unacknowledged
            while time.perf_counter() < deadline:
                await client.publish(args.topic, data, qos=1)
                acked[0] += 1

        await asyncio.gather(*(lane() for _ in range(args.inflight)))
        elapsed = time.perf_counter() - start
    return {"messages": acked[0], "seconds": elapsed, "msgPerSecond": acked[0] / elapsed, "inflight": args.inflight}


async def aiomqtt_e2e(args: argparse.Namespace) -> dict[str, Any]:
    counter = SequenceCounter()
    all_in = asyncio.Event()
    published = [-1]
    async with aiomqtt_client(args, "aiomqtt-sub") as subscriber:
        await subscriber.subscribe(args.topic, qos=0)

        async def receive() -> None:
            async for message in subscriber.messages:
                counter.observe(int.from_bytes(bytes(message.payload)[:SEQ_BYTES], "big"), time.perf_counter_ns())
                if counter.received >= published[0] >= 0:
                    all_in.set()

        receiver = asyncio.ensure_future(receive())
        async with aiomqtt_client(args, "aiomqtt-pub") as publisher:
            seq = 0
            start_ns = time.perf_counter_ns()
            deadline = time.perf_counter() + args.seconds
            while time.perf_counter() < deadline:
                await publisher.publish(args.topic, payload(seq, args.payload_bytes), qos=0)
                seq += 1
            published[0] = seq
            if counter.received < seq:
                await wait_idle(all_in, counter, args.idle)
        receiver.cancel()
        await asyncio.gather(receiver, return_exceptions=True)
    return e2e_result(counter, seq, start_ns)


# ------------------------------------------------------------------------------------------ shared


async def wait_idle(done: asyncio.Event, counter: SequenceCounter, idle_s: float) -> None:
    """Until ``done`` is set or nothing arrived for ``idle_s`` seconds."""
    while not done.is_set():
        before = counter.received
        try:
            await asyncio.wait_for(done.wait(), idle_s)
        except TimeoutError:
            if counter.received == before:
                return


def e2e_result(counter: SequenceCounter, published: int, start_ns: int) -> dict[str, Any]:
    span = (counter.last_ns - start_ns) / 1e9 if counter.received else 0.0
    return {"published": published, **counter.summary(published), "seconds": span,
            "msgPerSecond": counter.received / span if span > 0 else 0.0}


LOOPS: dict[tuple[str, str], Callable[[argparse.Namespace], Awaitable[dict[str, Any]]]] = {
    ("gmqtt", "qos0"): gmqtt_qos0, ("gmqtt", "qos1"): gmqtt_qos1, ("gmqtt", "e2e"): gmqtt_e2e,
    ("aiomqtt", "qos0"): aiomqtt_qos0, ("aiomqtt", "qos1"): aiomqtt_qos1, ("aiomqtt", "e2e"): aiomqtt_e2e,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("client", choices=("gmqtt", "aiomqtt"))
    parser.add_argument("mode", choices=("qos0", "qos1", "e2e"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--topic", default="bench/peer")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--payload-bytes", type=int, default=64)
    parser.add_argument("--inflight", type=int, default=16)
    parser.add_argument("--lanes", type=int, default=16,
                        help="aiomqtt qos0/e2e: concurrent publish calls (each awaits its own write)")
    parser.add_argument("--batch", type=int, default=100, help="publishes between yields to the event loop")
    parser.add_argument("--idle", type=float, default=2.0, help="e2e: stop waiting after this long without arrivals")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("benchmarks only target loopback")
    import uvloop

    loop = LOOPS[(args.client, args.mode)]

    async def measured() -> dict[str, Any]:
        return await loop(args)

    result = uvloop.run(measured())
    print(json.dumps({"client": args.client, "mode": args.mode, "payloadBytes": args.payload_bytes, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
