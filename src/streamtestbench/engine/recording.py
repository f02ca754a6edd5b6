"""What protocol sessions and flows report to, kept apart from how metrics are stored.

Sessions and flow steps call these methods on the hot path; the worker's adapter turns
them into columnar samples and counters. Times are ``time.monotonic_ns()`` values;
``intended_ns`` is when the schedule wanted the message sent, so latency can be
reported corrected for coordinated omission (from the intended start, as wrk2 does)
and uncorrected (from the actual start).
"""

from __future__ import annotations

from typing import Protocol


class Recorder(Protocol):
    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        """One request/response exchange (or one-way message when end == start); error names its kind."""

    def sent(self, nbytes: int, count: int = 1) -> None:
        """Messages written to the wire (every frame, matched or not)."""

    def received(self, nbytes: int, count: int = 1) -> None:
        """Messages read from the wire."""

    def connection_attempt(self) -> None: ...

    def connection_open(self, connect_ns: int) -> None:
        """A connection (and its handshake) succeeded after ``connect_ns`` nanoseconds."""

    def connection_failed(self, error: str) -> None:
        """A connection attempt failed; ``error`` is a kind such as "Connection refused"."""

    def connection_closed(self, error: str | None = None) -> None:
        """An open connection ended; ``error`` is set when it was not a clean close."""

    def first_message(self, latency_ns: int) -> None:
        """Time from connection open to the first message received on it."""

    def push(self, name: str, latency_ns: int, nbytes: int, gap: int = 0, reordered: bool = False) -> None:
        """A server-pushed message (broadcast) with latency from its server timestamp, and
        how many sequence numbers were skipped before it or whether it came out of order."""

    def error(self, kind: str) -> None:
        """An error not tied to one message (protocol violation, unexpected close...)."""

    def count(self, name: str, value: int = 1) -> None:
        """Any named counter (reconnects, dropped iterations, injected faults...)."""


class NullRecorder:
    """Discards everything: for tools and tests that only need the protocol behaviour."""

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        return None

    def sent(self, nbytes: int, count: int = 1) -> None:
        return None

    def received(self, nbytes: int, count: int = 1) -> None:
        return None

    def connection_attempt(self) -> None:
        return None

    def connection_open(self, connect_ns: int) -> None:
        return None

    def connection_failed(self, error: str) -> None:
        return None

    def connection_closed(self, error: str | None = None) -> None:
        return None

    def first_message(self, latency_ns: int) -> None:
        return None

    def push(self, name: str, latency_ns: int, nbytes: int, gap: int = 0, reordered: bool = False) -> None:
        return None

    def error(self, kind: str) -> None:
        return None

    def count(self, name: str, value: int = 1) -> None:
        return None
