"""Channel membership, per-channel seq and fan-out (target/broadcast.py) with fake subscribers."""

from __future__ import annotations

import orjson

from streamtestbench.target.broadcast import ChannelHub


class Inbox:
    def __init__(self) -> None:
        self.got: list[dict[str, object]] = []

    def deliver(self, payload: bytes) -> None:
        self.got.append(orjson.loads(payload))


def test_publish_reaches_every_subscriber_with_increasing_seq() -> None:
    hub = ChannelHub()
    a, b = Inbox(), Inbox()
    assert hub.subscribe("c", a) and hub.subscribe("c", b)
    assert not hub.subscribe("c", a)  # idempotent
    assert hub.publish("c", {"n": 1}, 1.0) == 2
    assert hub.publish("c", {"n": 2}, 2.0) == 2
    assert [m["seq"] for m in a.got] == [1, 2] == [m["seq"] for m in b.got]
    assert a.got[0] == {"type": "broadcast", "channel": "c", "seq": 1, "ts": 1.0, "data": {"n": 1}}
    assert hub.published == 2


def test_channels_have_independent_seqs_and_vanish_when_empty() -> None:
    hub = ChannelHub()
    a = Inbox()
    hub.subscribe("x", a)
    hub.subscribe("y", a)
    hub.publish("x", None, 0.0)
    hub.publish("x", None, 0.0)
    hub.publish("y", None, 0.0)
    assert [(m["channel"], m["seq"]) for m in a.got] == [("x", 1), ("x", 2), ("y", 1)]
    assert sorted(hub.channels()) == ["x", "y"]
    assert hub.unsubscribe("x", a)
    assert not hub.unsubscribe("x", a)
    assert hub.channels() == ["y"]
    assert hub.publish("x", None, 0.0) == 0  # nobody there: nothing sent, no seq used
    hub.subscribe("x", a)
    hub.publish("x", None, 0.0)
    assert a.got[-1]["seq"] == 1  # a channel that reappears starts again at 1


def test_a_subscriber_may_leave_during_fan_out() -> None:
    hub = ChannelHub()

    class Leaver(Inbox):
        def deliver(self, payload: bytes) -> None:
            super().deliver(payload)
            hub.unsubscribe("c", self)

    leaver, stayer = Leaver(), Inbox()
    hub.subscribe("c", leaver)
    hub.subscribe("c", stayer)
    assert hub.publish("c", 1, 0.0) == 2
    assert len(stayer.got) == 1 and hub.subscriber_count("c") == 1
