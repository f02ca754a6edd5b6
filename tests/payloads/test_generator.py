from __future__ import annotations

import random

import orjson
import pytest

from streamtestbench.payloads import make_generator
from streamtestbench.scenario.enums import PayloadType

ALL_TYPES = list(PayloadType)


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_same_seed_gives_the_same_bytes_when_timestamps_are_left_out(kind: PayloadType) -> None:
    def run() -> list[bytes]:
        gen = make_generator(kind, random.Random(42), timestamps=False)
        return [gen.next_bytes(vu, seq) for vu in range(3) for seq in range(5)]

    first, second = run(), run()
    assert first == second
    assert len(set(first)) == len(first)  # every message differs (at least by its correlation id)
    assert b'"timestamp"' not in first[0]


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_every_message_carries_type_correlation_and_a_millisecond_timestamp(kind: PayloadType) -> None:
    message = make_generator(kind, random.Random(1)).next(7, 12)
    assert message["type"] == kind.value.lower()
    assert message["correlation_id"] == "7-12"
    assert isinstance(message["timestamp"], int) and message["timestamp"] > 1_600_000_000_000
    assert orjson.loads(make_generator(kind, random.Random(1)).next_bytes(7, 12))["type"] == message["type"]


def test_different_seeds_give_different_identities() -> None:
    one = make_generator("SESSION_DATA", random.Random(1)).next(0, 0)
    two = make_generator("SESSION_DATA", random.Random(2)).next(0, 0)
    assert one["user_id"] != two["user_id"]


@pytest.mark.parametrize("kind", ALL_TYPES)
@pytest.mark.parametrize("size", [1024, 4096, 64 * 1024])
def test_size_bytes_is_honoured_within_a_few_bytes(kind: PayloadType, size: int) -> None:
    gen = make_generator(kind, random.Random(3), size_bytes=size)
    for seq in range(4):
        encoded = gen.next_bytes(1, seq)
        assert size - 16 <= len(encoded) <= size
        orjson.loads(encoded)


def test_a_size_below_the_natural_size_leaves_the_message_whole() -> None:
    natural = len(make_generator("SESSION_DATA", random.Random(3)).next_bytes(1, 0))
    small = make_generator("SESSION_DATA", random.Random(3), size_bytes=10).next_bytes(1, 0)
    assert abs(len(small) - natural) <= 2  # only the timestamp's digits may differ


def test_personal_fields_sit_where_seed_002_expects_them() -> None:
    rng = random.Random(5)
    voice = make_generator("VOICE_DATA", rng).next(2, 0)
    behaviour = make_generator("BEHAVIORAL_DATA", rng).next(2, 0)
    session = make_generator("SESSION_DATA", rng).next(2, 0)  # seq 0 is a session_start: it logs in
    for message in (voice, behaviour, session):
        assert {"user_id", "device_id", "session_id"} <= message.keys()
    assert isinstance(voice["voice_sample"], str)
    assert set(behaviour["gps"]) >= {"lat", "lon"} and set(session["gps"]) >= {"lat", "lon"}
    assert session["email"].endswith("@example.test")
    assert "-555-01" in session["phone_number"]


def test_a_vu_keeps_its_identity_across_messages_and_families_share_nothing_by_accident() -> None:
    gen = make_generator("BEHAVIORAL_DATA", random.Random(9))
    first, later, other = gen.next(4, 0), gen.next(4, 50), gen.next(5, 0)
    assert first["user_id"] == later["user_id"] and first["session_id"] == later["session_id"]
    assert first["user_id"] != other["user_id"]


def test_behavioral_events_have_coordinates_inside_the_viewport_and_element_ids() -> None:
    gen = make_generator("BEHAVIORAL_DATA", random.Random(11))
    for seq in range(50):
        message = gen.next(0, seq)
        width, height = message["viewport"]["width"], message["viewport"]["height"]
        assert 1 <= len(message["events"]) <= 5
        for event in message["events"]:
            assert 0 <= event["x"] <= width and 0 <= event["y"] <= height
            assert event["element_id"]


def test_metrics_gauges_stay_in_their_ranges() -> None:
    gen = make_generator("METRICS", random.Random(12))
    for seq in range(200):
        message = gen.next(0, seq)
        assert 0 < message["cpu_percent"] <= 100 and 0 < message["memory_percent"] <= 100
        assert message["latency_ms"]["p50"] <= message["latency_ms"]["p95"] <= message["latency_ms"]["max"] * 1.0001


def test_heartbeat_is_tiny() -> None:
    assert len(make_generator("HEARTBEAT", random.Random(1)).next_bytes(123, 456)) < 160


def test_lower_case_type_names_are_accepted() -> None:
    assert make_generator("metrics", random.Random(1)).next(0, 0)["type"] == "metrics"


def test_a_large_behavioral_message_is_a_longer_batch_of_events_not_padding() -> None:
    message = make_generator("BEHAVIORAL_DATA", random.Random(4), size_bytes=8192).next(0, 0)
    assert len(message["events"]) > 40
    assert len(message.get("padding", "")) < 200
    offsets = [event["t_offset_ms"] for event in message["events"]]
    assert offsets == sorted(offsets)
