"""The relay's pure parts: --relay specs, channel naming, the publisher's stamp kept in the broadcast."""

from __future__ import annotations

import orjson
import pytest

from streamtestbench.target.config import TargetConfig, TargetConfigError
from streamtestbench.target.context import TargetContext
from streamtestbench.target.nats_relay import NatsRelay, RelayRoute, parse_relay, publish_timestamp_ms


class Inbox:
    def __init__(self) -> None:
        self.got: list[dict[str, object]] = []

    def deliver(self, payload: bytes) -> None:
        self.got.append(orjson.loads(payload))


def test_relay_specs() -> None:
    assert parse_relay("prices.>") == RelayRoute("prices.>", None)
    assert parse_relay(" prices.* = quotes ") == RelayRoute("prices.*", "quotes")
    for bad in ("", "a b", "a..b", ".a", "a.>="):
        with pytest.raises(ValueError, match="relay"):
            parse_relay(bad)


def test_channel_is_the_last_subject_token_unless_mapped() -> None:
    assert RelayRoute("prices.>").channel_for("prices.eu.fx") == "fx"
    assert RelayRoute("single").channel_for("single") == "single"
    assert RelayRoute("prices.>", "all").channel_for("prices.eu.fx") == "all"


def test_publish_timestamp_is_read_from_the_stamp_in_ms() -> None:
    assert publish_timestamp_ms({"_stb": {"p": "x", "s": 1, "t": 1_700_000_000_123_456_789}}) == pytest.approx(
        1_700_000_000_123.456789)
    for no_stamp in ({}, {"_stb": "x"}, {"_stb": {"t": "1"}}, {"_stb": {"t": True}}, [1], "text"):
        assert publish_timestamp_ms(no_stamp) is None


def test_a_relayed_message_is_a_hub_broadcast_with_the_publishers_timestamp() -> None:
    ctx = TargetContext(TargetConfig(jwt_secret="x"))
    first, second = Inbox(), Inbox()
    ctx.hub.subscribe("fx", first)
    ctx.hub.subscribe("fx", second)
    relay = NatsRelay(ctx, "nats://127.0.0.1:4222", (RelayRoute("prices.>"),))
    stamp = {"p": "pub-1", "s": 7, "t": 1_700_000_000_000_000_000}
    assert relay.relay("fx", orjson.dumps({"price": 1.5, "_stb": stamp})) == 2
    assert relay.relay("fx", b"plain text") == 2
    assert relay.relay("nobody", b"{}") == 0
    assert first.got == second.got
    message, text = first.got
    assert message == {"type": "broadcast", "channel": "fx", "seq": 1, "ts": 1_700_000_000_000.0,
                       "data": {"price": 1.5, "_stb": stamp}}
    assert text["seq"] == 2 and text["data"] == "plain text" and isinstance(text["ts"], float)
    assert (relay.relayed, relay.delivered, ctx.stats.broadcasts) == (3, 4, 2)


@pytest.mark.parametrize(("nats_url", "relays", "message"), [
    (None, ("a.>",), "--relay needs --nats"),
    ("nats://127.0.0.1:4222", (), "needs at least one --relay"),
    ("nats://10.1.2.3:4222", ("a.>",), "loopback"),
    ("http://127.0.0.1:4222", ("a.>",), "NATS URL"),
    ("nats://127.0.0.1:4222", ("a b",), "NATS subject"),
])
def test_bad_relay_settings_are_refused(nats_url: str | None, relays: tuple[str, ...], message: str) -> None:
    with pytest.raises(TargetConfigError, match=message):
        TargetConfig(jwt_secret="x", nats_url=nats_url, relays=relays).validate()


def test_good_relay_settings_pass() -> None:
    TargetConfig(jwt_secret="x", nats_url="nats://localhost:4222", relays=("a.>", "b.c=c")).validate()
