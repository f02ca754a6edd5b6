"""Delivery stamps and the tracker: latency, loss, duplicates and reordering per topic and publisher."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest

from streamtestbench.engine.recording import NullRecorder
from streamtestbench.flows.delivery import (
    MAX_MISSING_RANGES,
    STAMP_TAIL,
    DeliveryTracker,
    parse_stamp,
    stamp,
    stamp_bytes,
)


class Recorded(NullRecorder):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.pushes: list[tuple[str, int, int]] = []

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] += value

    def push(self, name: str, latency_ns: int, nbytes: int, gap: int = 0, reordered: bool = False) -> None:
        self.pushes.append((name, latency_ns, nbytes))


def message(seq: int, publisher: str = "p1", sent_ns: int = 1_000) -> bytes:
    return orjson.dumps(stamp({"v": seq}, publisher, seq, sent_ns))


def feed(tracker: DeliveryTracker, seqs: list[int], topic: str = "t", publisher: str = "p1") -> None:
    for seq in seqs:
        tracker.observe(topic, message(seq, publisher), 5_000)


def test_stamp_is_the_last_key_and_replaces_an_old_one() -> None:
    stamped = stamp({"_stb": "old", "a": 1}, "pub", 7, 123)
    assert list(stamped) == ["a", "_stb"]
    assert stamped["_stb"] == {"p": "pub", "s": 7, "t": 123}


def test_stamp_bytes_matches_the_dict_stamp() -> None:
    body = orjson.dumps({"a": [1, {"b": "}"}]})
    assert stamp_bytes(body, b'"pub"', 7, 123) == orjson.dumps(stamp({"a": [1, {"b": "}"}]}, "pub", 7, 123))
    assert stamp_bytes(b"{}", b'"pub"', 1, 2) == orjson.dumps(stamp({}, "pub", 1, 2))
    assert body[:-1] + STAMP_TAIL % (b'"pub"', 7, 123) == stamp_bytes(body, b'"pub"', 7, 123)


def test_parse_stamp_from_bytes_and_dicts() -> None:
    assert parse_stamp(message(3)) == ("p1", 3, 1_000)
    assert parse_stamp(stamp({}, "x", 4, 5)) == ("x", 4, 5)
    assert parse_stamp(b"not json") is None
    assert parse_stamp(b'{"_stb":{"p":"x","s":"one","t":1}}') is None
    # the marker inside an earlier string value does not fool the tail parser
    assert parse_stamp(orjson.dumps(stamp({"note": '"_stb":{'}, "q", 9, 10))) == ("q", 9, 10)
    # whitespace-formatted JSON falls back to a full parse
    assert parse_stamp(b'{"_stb": {"p": "x", "s": 1, "t": 2}, "z": 0}') == ("x", 1, 2)


def test_in_order_stream_has_no_loss_and_records_latency() -> None:
    recorder = Recorded()
    tracker = DeliveryTracker(recorder, name="mqtt.deliver")
    feed(tracker, [0, 1, 2, 3])
    assert tracker.summary() == {"received": 4, "lost": 0, "duplicates": 0, "reordered": 0, "unstamped": 0,
                                 "streams": 1}
    assert recorder.pushes[0] == ("mqtt.deliver", 4_000, len(message(0)))
    assert not recorder.counts


def test_gaps_count_as_lost() -> None:
    recorder = Recorded()
    tracker = DeliveryTracker(recorder)
    feed(tracker, [0, 1, 4, 5, 9])
    assert tracker.lost == 2 + 3
    assert recorder.counts["delivery.lost"] == 5


def test_a_late_message_is_reordered_and_no_longer_lost() -> None:
    recorder = Recorded()
    tracker = DeliveryTracker(recorder)
    feed(tracker, [0, 3, 1, 2, 4])
    assert (tracker.lost, tracker.reordered, tracker.duplicates) == (0, 2, 0)
    assert recorder.counts == Counter({"delivery.reordered": 2, "delivery.lost": 0})
    assert len(recorder.pushes) == 5


def test_repeats_are_duplicates_and_record_no_latency() -> None:
    recorder = Recorded()
    tracker = DeliveryTracker(recorder)
    feed(tracker, [0, 1, 1, 2, 0, 5, 3, 3])
    assert (tracker.lost, tracker.reordered, tracker.duplicates) == (1, 1, 3)
    assert recorder.counts["delivery.duplicates"] == 3
    assert len(recorder.pushes) == 5


def test_streams_are_per_topic_and_publisher() -> None:
    tracker = DeliveryTracker(Recorded())
    feed(tracker, [0, 1], topic="a", publisher="p1")
    feed(tracker, [0, 1], topic="a", publisher="p2")
    feed(tracker, [0, 1], topic="b", publisher="p1")
    assert tracker.summary()["streams"] == 3
    assert (tracker.lost, tracker.duplicates) == (0, 0)


def test_joining_late_is_not_loss() -> None:
    tracker = DeliveryTracker(Recorded())
    feed(tracker, [500, 501, 499, 502])
    assert (tracker.lost, tracker.duplicates, tracker.reordered) == (0, 0, 1)


def test_unstamped_messages_are_counted_apart() -> None:
    recorder = Recorded()
    tracker = DeliveryTracker(recorder)
    tracker.observe("t", b"plain text", 1)
    tracker.observe("t", {"no": "stamp"}, 1)
    assert tracker.unstamped == 2 and tracker.received == 0
    assert recorder.counts["delivery.unstamped"] == 2


def test_dict_messages_are_tracked_too() -> None:
    tracker = DeliveryTracker(Recorded())
    for seq in (0, 2, 1):
        tracker.observe("t", stamp({}, "p", seq, 1), 2)
    assert (tracker.lost, tracker.reordered) == (0, 1)


def test_missing_ranges_stay_bounded() -> None:
    tracker = DeliveryTracker(Recorded())
    feed(tracker, list(range(0, 2 * (MAX_MISSING_RANGES + 10), 2)))
    stream: Any = next(iter(tracker._streams.values()))
    assert len(stream.missing) == MAX_MISSING_RANGES
    tracker.observe("t", message(1), 5)  # forgotten: it counts as a duplicate now
    assert tracker.duplicates == 1


@pytest.mark.parametrize(("order", "late"), [([0, 5, 3, 1, 4, 2], 4), ([0, 2, 4, 6, 1, 3, 5], 3)])
def test_every_gap_filled_means_nothing_lost(order: list[int], late: int) -> None:
    tracker = DeliveryTracker(Recorded())
    feed(tracker, order)
    assert (tracker.lost, tracker.reordered, tracker.duplicates) == (0, late, 0)


def test_publisher_names_that_need_escaping_are_tracked_too() -> None:
    tracker = DeliveryTracker(Recorded())
    feed(tracker, [0, 1, 3], publisher='odd "name" \\ here')
    assert (tracker.received, tracker.lost, tracker.summary()["streams"]) == (3, 1, 1)


def test_after_rejoin_the_next_message_is_a_fresh_start() -> None:
    tracker = DeliveryTracker(Recorded())
    feed(tracker, [0, 1, 2])
    tracker.rejoin()
    feed(tracker, [10, 11, 13])
    assert (tracker.lost, tracker.duplicates) == (1, 0)
    tracker.rejoin()
    feed(tracker, [12, 14, 16])
    assert (tracker.lost, tracker.reordered, tracker.duplicates) == (1, 1, 0)
