"""End-to-end delivery through a broker: a stamp in each payload, and a tracker on the receiving side.

A publisher adds ``"_stb": {"p": publisher, "s": seq, "t": epoch_ns}`` as the last key of its JSON
payload. A subscriber's ``DeliveryTracker`` follows each (topic, publisher) stream:

- ``s`` equal to the next expected number: in order;
- greater: the numbers skipped are counted in ``delivery.lost`` (and remembered as missing);
- smaller and remembered as missing: it came late, so ``delivery.reordered`` goes up and ``delivery.lost`` down;
- smaller and not missing: ``delivery.duplicates``.

The first message of a stream sets its start, so what was published before the subscriber
joined is not loss; ``rejoin()`` (called on every new subscription) makes the next message of each
stream a fresh start again, so what was published while the subscriber was away is not loss either.
Messages lost after the last one received cannot be seen by a subscriber alone.

Latency is receive wall-clock time minus ``t`` (both ``time.time_ns()``; publisher and subscriber
share the machine's clock) and is recorded with ``recorder.push(name, ...)``: a delivery is a
message the broker pushed to us, measured from a timestamp it carries, not an exchange we timed,
so it appears under ``pushMetrics`` and does not double the message counts that publishes make.
"""

from __future__ import annotations

import bisect
import re
import time
from typing import Any

import orjson

from ..engine.recording import Recorder

__all__ = ["STAMP_KEY", "STAMP_TAIL", "DeliveryTracker", "parse_stamp", "stamp", "stamp_bytes"]

STAMP_KEY = "_stb"
_MARKER = b'"_stb":'
MAX_MISSING_RANGES = 4096
"""Missing ranges remembered per stream; older ones are forgotten (a late arrival then counts as a duplicate)."""


def stamp(payload: dict[str, Any], publisher: str, seq: int, now_ns: int | None = None) -> dict[str, Any]:
    """A copy of ``payload`` with the stamp as its last key (so ``parse_stamp`` reads only the tail)."""
    stamped = {key: value for key, value in payload.items() if key != STAMP_KEY}
    stamped[STAMP_KEY] = {"p": publisher, "s": seq, "t": time.time_ns() if now_ns is None else now_ns}
    return stamped


def stamp_bytes(body: bytes, publisher_json: bytes, seq: int, now_ns: int) -> bytes:
    """The same stamp spliced into the JSON object ``body`` without parsing it (the publish hot path).

    ``publisher_json`` is the publisher's name already JSON-encoded (``orjson.dumps(name)``), and
    ``body`` must not already hold a stamp.
    """
    if body == b"{}":
        return b'{"_stb":{"p":%b,"s":%d,"t":%d}}' % (publisher_json, seq, now_ns)
    return body[:-1] + STAMP_TAIL % (publisher_json, seq, now_ns)


STAMP_TAIL = b',"_stb":{"p":%b,"s":%d,"t":%d}}'
"""What ``stamp_bytes`` appends to a body whose closing brace was cut off: ``STAMP_TAIL % (publisher, seq, ns)``."""


_TAIL = re.compile(rb'\{"p":"([^"\\]*)","s":(\d+),"t":(\d+)\}\}')
"""The stamp as ``stamp_bytes`` and orjson write it, at the very end of the payload."""


def parse_stamp(message: bytes | dict[str, Any]) -> tuple[str, int, int] | None:
    """(publisher, seq, epoch ns) from a stamped payload, or None when it carries no valid stamp."""
    found: Any = None
    if isinstance(message, dict):
        found = message.get(STAMP_KEY)
    else:
        index = message.rfind(_MARKER)
        if index < 0:
            return None
        tail = _TAIL.fullmatch(message, index + len(_MARKER))
        if tail is not None:
            return tail[1].decode(), int(tail[2]), int(tail[3])
        try:
            found = orjson.loads(message).get(STAMP_KEY)
        except (orjson.JSONDecodeError, AttributeError):
            return None
    if not isinstance(found, dict):
        return None
    publisher, seq, sent = found.get("p"), found.get("s"), found.get("t")
    if not isinstance(seq, int) or not isinstance(sent, int):
        return None
    return str(publisher), seq, sent


class _Stream:
    """One (topic, publisher) sequence: the next number expected and the ranges still missing."""

    __slots__ = ("base", "epoch", "expected", "missing")

    def __init__(self, seq: int, epoch: int) -> None:
        self.base = seq
        self.epoch = epoch
        self.expected = seq + 1
        self.missing: list[tuple[int, int]] = []
        """Sorted, disjoint half-open ranges [low, high) of skipped numbers not yet seen."""

    def take_missing(self, seq: int) -> bool:
        """Remove ``seq`` from the missing ranges; True when it was missing."""
        ranges = self.missing
        index = bisect.bisect_right(ranges, (seq, 1 << 62)) - 1
        if index < 0:
            return False
        low, high = ranges[index]
        if not low <= seq < high:
            return False
        pieces = [(low, seq)] if seq > low else []
        if seq + 1 < high:
            pieces.append((seq + 1, high))
        ranges[index:index + 1] = pieces
        return True


class DeliveryTracker:
    """Follows every (topic, publisher) stream a subscriber receives; counts loss, duplicates, reordering."""

    __slots__ = ("_count", "_epoch", "_push", "_streams", "duplicates", "lost", "name", "received", "reordered",
                 "unstamped")

    def __init__(self, recorder: Recorder, name: str = "mqtt.deliver") -> None:
        self.name = name
        self._push = recorder.push
        self._count = recorder.count
        self._streams: dict[tuple[str, bytes], _Stream] = {}
        """Keyed by topic and the publisher's name as it appears in the payload (JSON-escaped bytes)."""
        self._epoch = 0
        self.received = 0
        self.lost = 0
        self.duplicates = 0
        self.reordered = 0
        self.unstamped = 0

    def observe(self, topic: str, message: bytes | dict[str, Any], now_ns: int) -> None:
        """One received message; ``now_ns`` is the receive time as ``time.time_ns()``."""
        tail = None
        if type(message) is bytes:
            index = message.rfind(_MARKER)
            tail = _TAIL.fullmatch(message, index + len(_MARKER)) if index >= 0 else None
        if tail is not None:
            publisher, seq_text, sent_text = tail.groups()
            seq, sent_ns = int(seq_text), int(sent_text)
        else:
            found = parse_stamp(message)
            if found is None:
                self.unstamped += 1
                self._count("delivery.unstamped")
                return
            publisher, seq, sent_ns = found[0].encode(), found[1], found[2]
        self.received += 1
        key = (topic, publisher)
        stream = self._streams.get(key)
        if stream is None:
            self._streams[key] = _Stream(seq, self._epoch)
        elif stream.epoch != self._epoch:
            stream.epoch = self._epoch  # the first message since we subscribed again: a new start, not a gap
            if seq >= stream.expected:
                stream.expected = seq + 1
            elif not self._out_of_order(stream, seq):
                return
        elif seq == stream.expected:
            stream.expected = seq + 1
        elif not self._out_of_order(stream, seq):
            return
        self._push(self.name, now_ns - sent_ns, len(message) if type(message) is bytes else 0)

    def rejoin(self) -> None:
        """A new subscription: the next message of every stream starts it afresh (what we missed was not ours)."""
        self._epoch += 1

    def _out_of_order(self, stream: _Stream, seq: int) -> bool:
        """Account for ``seq`` arriving other than next; False for a duplicate (no latency is recorded)."""
        if seq > stream.expected:
            gap = seq - stream.expected
            stream.missing.append((stream.expected, seq))
            if len(stream.missing) > MAX_MISSING_RANGES:
                del stream.missing[0]
            stream.expected = seq + 1
            self.lost += gap
            self._count("delivery.lost", gap)
        elif stream.take_missing(seq):
            self.reordered += 1
            self.lost -= 1
            self._count("delivery.reordered")
            self._count("delivery.lost", -1)
        elif seq < stream.base:
            stream.base = seq  # an earlier message of a stream we joined late: neither lost nor repeated
            self.reordered += 1
            self._count("delivery.reordered")
        else:
            self.duplicates += 1
            self._count("delivery.duplicates")
            return False
        return True

    def summary(self) -> dict[str, int]:
        return {"received": self.received, "lost": self.lost, "duplicates": self.duplicates,
                "reordered": self.reordered, "unstamped": self.unstamped, "streams": len(self._streams)}
