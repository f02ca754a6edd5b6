"""The one sample record shared by every protocol, and its hot-path buffer.

Why: every measurement (an HTTP request, a WebSocket message round trip, an MQTT publish,
an MCP call) is described by the same seven integers -- metric id, intended start, actual
start, end, bytes, outcome, error kind -- so latency can always be reported both corrected
for coordinated omission (end - intended start) and uncorrected (end - actual start). On the
hot path a sample is one ``list.extend`` of a 7-tuple (no per-sample objects kept, no
histogram work); the buffer is drained into numpy columns once per interval and recorded in
bulk. (A flat list beats ``array('q')``: its ``extend`` costs ~25 ns vs ~300 ns for the
array's, and the one ``np.array`` conversion per interval is cheaper than that difference;
a list of tuples is slower on both sides because every tuple feeds the cyclic GC.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .hdr import I64Array

__all__ = [
    "COMMON_ERROR_KINDS",
    "NO_ERROR",
    "ROW_WIDTH",
    "ErrorKinds",
    "MetricKey",
    "MetricRegistry",
    "Outcome",
    "Sample",
    "SampleBatch",
    "SampleBuffer",
]


class Outcome(IntEnum):
    """How a measured operation ended (stored as a small int in the sample row)."""

    OK = 0
    FAILED = 1  # completed with an error (refused, reset, bad status, protocol error, ...)
    TIMEOUT = 2  # gave up waiting; end is when we gave up
    DROPPED = 3  # scheduled but never started (no free VU / connection); no latency
    CANCELLED = 4  # started but abandoned (shutdown, phase end); no meaningful latency


#: Error-kind code meaning "no error".
NO_ERROR = 0

#: Error kinds with fixed codes 1..N in every process (snapshots still carry names).
COMMON_ERROR_KINDS: tuple[str, ...] = (
    "Connection timeout",
    "Connection refused",
    "Connection reset",
    "Connection closed",
    "DNS failure",
    "TLS error",
    "Request timeout",
    "Protocol error",
    "HTTP 4xx",
    "HTTP 5xx",
)

#: Integers per sample row: metric, intended_ns, actual_ns, end_ns, nbytes, outcome, error.
ROW_WIDTH = 7


class ErrorKinds:
    """Interns error-kind strings as small ints so the hot path stores an int, not a str.

    Codes are per process; anything leaving the process (snapshots) uses the names.
    """

    __slots__ = ("_codes", "_names")

    def __init__(self, names: Iterable[str] = COMMON_ERROR_KINDS) -> None:
        self._names: list[str] = [""]
        self._codes: dict[str, int] = {}
        for name in names:
            self.code(name)

    def code(self, name: str) -> int:
        """Code for ``name``, interning it on first use (resolve once, outside the hot loop)."""
        code = self._codes.get(name)
        if code is None:
            code = len(self._names)
            self._names.append(name)
            self._codes[name] = code
        return code

    def name(self, code: int) -> str:
        """Name of ``code`` ("" for :data:`NO_ERROR`, ``"error #N"`` if unknown)."""
        if 0 <= code < len(self._names):
            return self._names[code]
        return f"error #{code}"

    def names(self) -> tuple[str, ...]:
        return tuple(self._names)

    def __len__(self) -> int:
        return len(self._names)


class MetricKey(NamedTuple):
    """Identity of a metric across processes: a name plus sorted (tag, value) pairs."""

    name: str
    tags: tuple[tuple[str, str], ...] = ()

    @classmethod
    def make(cls, name: str, tags: Mapping[str, str] | None = None) -> MetricKey:
        return cls(name, tuple(sorted((str(k), str(v)) for k, v in (tags or {}).items())))

    def tag_dict(self) -> dict[str, str]:
        return dict(self.tags)

    def label(self) -> str:
        """``ws.message{phase=warm-up,type=ping}`` -- for display and log lines."""
        if not self.tags:
            return self.name
        return self.name + "{" + ",".join(f"{k}={v}" for k, v in self.tags) + "}"


class MetricRegistry:
    """Maps metric name+tags to small int ids used in sample rows (ids are per process)."""

    __slots__ = ("_ids", "_keys")

    def __init__(self) -> None:
        self._keys: list[MetricKey] = []
        self._ids: dict[MetricKey, int] = {}

    def id(self, name: str, tags: Mapping[str, str] | None = None) -> int:
        """Id for ``name``+``tags``, registering it on first use."""
        return self.id_of(MetricKey.make(name, tags))

    def id_of(self, key: MetricKey) -> int:
        metric_id = self._ids.get(key)
        if metric_id is None:
            metric_id = len(self._keys)
            self._keys.append(key)
            self._ids[key] = metric_id
        return metric_id

    def key(self, metric_id: int) -> MetricKey:
        return self._keys[metric_id]

    def keys(self) -> tuple[MetricKey, ...]:
        return tuple(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement as an object: for tests, examples and low-rate paths."""

    metric: int
    intended_start_ns: int
    actual_start_ns: int
    end_ns: int
    nbytes: int = 0
    outcome: Outcome = Outcome.OK
    error: int = NO_ERROR

    @property
    def corrected_ns(self) -> int:
        """Latency corrected for coordinated omission: end - intended start."""
        return self.end_ns - self.intended_start_ns

    @property
    def uncorrected_ns(self) -> int:
        """Service time as the client saw it: end - actual start."""
        return self.end_ns - self.actual_start_ns

    def row(self) -> tuple[int, int, int, int, int, int, int]:
        return (
            self.metric,
            self.intended_start_ns,
            self.actual_start_ns,
            self.end_ns,
            self.nbytes,
            int(self.outcome),
            self.error,
        )


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Drained samples as contiguous int64 numpy columns (one entry per sample)."""

    metric: I64Array
    intended_ns: I64Array
    actual_ns: I64Array
    end_ns: I64Array
    nbytes: I64Array
    outcome: I64Array
    error: I64Array

    def __len__(self) -> int:
        return int(self.metric.size)

    @classmethod
    def from_rows(cls, rows: I64Array) -> SampleBatch:
        """From an ``(n, 7)`` array; one transposing copy makes every column contiguous.

        Always copies, so the batch never aliases the caller's (or the buffer's) memory.
        """
        if rows.ndim != 2 or rows.shape[1] != ROW_WIDTH:
            raise ValueError(f"expected an (n, {ROW_WIDTH}) array, got shape {rows.shape}")
        cols = np.array(rows.T, dtype=np.int64, order="C", copy=True)
        return cls(cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6])

    @classmethod
    def from_samples(cls, samples: Iterable[Sample]) -> SampleBatch:
        rows = [s.row() for s in samples]
        return cls.from_rows(np.array(rows, dtype=np.int64).reshape(len(rows), ROW_WIDTH))

    @classmethod
    def empty(cls) -> SampleBatch:
        return cls.from_rows(np.empty((0, ROW_WIDTH), dtype=np.int64))


class SampleBuffer:
    """Append-only sample store for one worker, drained into numpy once per interval.

    Rows are stored flat (seven ints per sample) in one Python list. ``append_row`` is that
    list's bound ``extend``: the cheapest way to record, one C call per sample. It stays valid
    across :meth:`drain`, which empties the list in place. Each call must pass exactly seven
    ints, in :data:`ROW_WIDTH` order.
    """

    __slots__ = ("_data", "append_row")

    def __init__(self) -> None:
        self._data: list[int] = []
        self.append_row: Callable[[Iterable[int]], None] = self._data.extend

    def append(
        self,
        metric: int,
        intended_ns: int,
        actual_ns: int,
        end_ns: int,
        nbytes: int = 0,
        outcome: int = Outcome.OK,
        error: int = NO_ERROR,
    ) -> None:
        """Record one sample (amortised O(1); nothing allocated that outlives the call)."""
        self._data.extend((metric, intended_ns, actual_ns, end_ns, nbytes, outcome, error))

    def add(self, sample: Sample) -> None:
        self._data.extend(sample.row())

    def extend_rows(self, rows: npt.NDArray[np.integer[Any]]) -> None:
        """Append an ``(n, 7)`` array of rows at once (batch producers, replays, benchmarks)."""
        if rows.ndim != 2 or rows.shape[1] != ROW_WIDTH:
            raise ValueError(f"expected an (n, {ROW_WIDTH}) array, got shape {rows.shape}")
        self._data.extend(np.asarray(rows, dtype=np.int64).ravel().tolist())

    def __len__(self) -> int:
        return len(self._data) // ROW_WIDTH

    def drain(self) -> SampleBatch:
        """Move everything recorded so far into a :class:`SampleBatch` and empty the buffer."""
        data = self._data
        if len(data) % ROW_WIDTH:
            # A malformed append_row call; keep the whole rows rather than lose the interval.
            del data[len(data) - len(data) % ROW_WIDTH :]
        if not data:
            return SampleBatch.empty()
        rows = np.fromiter(data, dtype=np.int64, count=len(data)).reshape(-1, ROW_WIDTH)
        data.clear()
        return SampleBatch.from_rows(rows)
