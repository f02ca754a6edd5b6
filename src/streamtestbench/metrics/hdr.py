"""HDR histogram on a numpy ``int64`` counts array.

Why: recording one value at a time in Python costs about 1 µs, far too slow for a load
generator's hot path. This histogram keeps the standard HdrHistogram bucket layout (so
percentiles carry the usual "N significant figures" guarantee and counts arrays from any
worker line up index for index), but records whole numpy arrays at once, merges by
adding counts arrays (exact), and speaks the standard V2 compressed wire format so other
HDR tools (Java, C, the ``hdrh`` package) read what we write and vice versa.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import numpy.typing as npt

__all__ = [
    "LATENCY_US",
    "MAX_HIGHEST_TRACKABLE",
    "HdrHistogram",
    "HdrLayout",
    "I64Array",
    "counts_indices",
    "merge_all",
]

I64Array = npt.NDArray[np.int64]

#: Upper bound on ``highest``: below 2**53 every value converts to float64 exactly, which the
#: vectorised bucket computation relies on (2**53 µs is 285 years, 2**53 ns is 104 days).
MAX_HIGHEST_TRACKABLE = 2**53

_V2_ENCODING_COOKIE_BASE = 0x1C849303
_V2_COMPRESSED_COOKIE_BASE = 0x1C849304
_V2_ENCODING_COOKIE = _V2_ENCODING_COOKIE_BASE | 0x10
_V2_COMPRESSED_COOKIE = _V2_COMPRESSED_COOKIE_BASE | 0x10
# cookie, payload length, normalizing index offset, significant figures, lowest, highest,
# integer-to-double conversion ratio -- big endian, as in HdrHistogram's V2 encoding.
_PAYLOAD_HEADER = struct.Struct(">IIiIqqd")
_OUTER_HEADER = struct.Struct(">II")
# Below this many values np.add.at beats allocating a full bincount array.
_SMALL_BATCH = 2048


def _cookie_base(cookie: int) -> int:
    return cookie & ~0xF0


@dataclass(frozen=True)
class HdrLayout:
    """Bucket geometry of an HDR histogram (HdrHistogram's lowest/highest/significant figures).

    Two histograms can be merged index for index only if their layouts are equal.
    """

    lowest: int = 1
    highest: int = 3_600_000_000
    significant_figures: int = 3

    def __post_init__(self) -> None:
        if self.lowest < 1:
            raise ValueError("lowest discernible value must be >= 1")
        if self.highest < 2 * self.lowest:
            raise ValueError("highest trackable value must be >= 2 * lowest")
        if self.highest > MAX_HIGHEST_TRACKABLE:
            raise ValueError(f"highest trackable value must be <= 2**53 (got {self.highest})")
        if not 0 <= self.significant_figures <= 5:
            raise ValueError("significant figures must be between 0 and 5")

    @cached_property
    def unit_magnitude(self) -> int:
        return self.lowest.bit_length() - 1

    @cached_property
    def sub_bucket_half_count_magnitude(self) -> int:
        # ceil(log2(2 * 10**sf)), computed exactly with integers.
        sub_bucket_count_magnitude = (2 * int(10**self.significant_figures) - 1).bit_length()
        return max(sub_bucket_count_magnitude - 1, 0)

    @cached_property
    def sub_bucket_count(self) -> int:
        return 1 << (self.sub_bucket_half_count_magnitude + 1)

    @cached_property
    def sub_bucket_half_count(self) -> int:
        return self.sub_bucket_count // 2

    @cached_property
    def sub_bucket_mask(self) -> int:
        return (self.sub_bucket_count - 1) << self.unit_magnitude

    @cached_property
    def bucket_count(self) -> int:
        smallest_untrackable = self.sub_bucket_count << self.unit_magnitude
        buckets = 1
        while smallest_untrackable <= self.highest:
            smallest_untrackable <<= 1
            buckets += 1
        return buckets

    @cached_property
    def counts_len(self) -> int:
        return (self.bucket_count + 1) * self.sub_bucket_half_count

    @cached_property
    def _bucket_shift(self) -> int:
        return self.unit_magnitude + self.sub_bucket_half_count_magnitude + 1

    def index_of(self, value: int) -> int:
        """Counts-array index of one (already clamped, non-negative) value."""
        bucket = (value | self.sub_bucket_mask).bit_length() - self._bucket_shift
        sub = value >> (bucket + self.unit_magnitude)
        return ((bucket + 1) << self.sub_bucket_half_count_magnitude) + sub - self.sub_bucket_half_count

    def lowest_equivalent(self, value: int) -> int:
        """Smallest value sharing ``value``'s bucket."""
        return int(_tables(self)[0][self.index_of(value)])

    def highest_equivalent(self, value: int) -> int:
        """Largest value sharing ``value``'s bucket."""
        return int(_tables(self)[1][self.index_of(value)])

    def values_at(self, indices: I64Array) -> tuple[I64Array, I64Array]:
        """Lowest and highest equivalent values of the given counts-array indices."""
        low, high, _ = _tables(self)
        return low[indices], high[indices]


#: Latencies in microseconds, 1 µs .. 1 hour, 3 significant figures.
LATENCY_US = HdrLayout(1, 3_600_000_000, 3)


@lru_cache(maxsize=8)  # one entry is 3 x counts_len int64 (550 KB for LATENCY_US)
def _tables(layout: HdrLayout) -> tuple[I64Array, I64Array, I64Array]:
    """Per-index lowest, highest and median equivalent values, shared by all histograms."""
    idx = np.arange(layout.counts_len, dtype=np.int64)
    bucket = (idx >> layout.sub_bucket_half_count_magnitude) - 1
    sub = (idx & (layout.sub_bucket_half_count - 1)) + layout.sub_bucket_half_count
    first = bucket < 0
    sub[first] -= layout.sub_bucket_half_count
    bucket[first] = 0
    low = sub << (bucket + layout.unit_magnitude)
    width = np.left_shift(np.int64(1), bucket + layout.unit_magnitude)
    high = low + (width - 1)
    median = low + (width >> 1)
    for table in (low, high, median):
        table.flags.writeable = False
    return low, high, median


def counts_indices(layout: HdrLayout, values: npt.ArrayLike) -> tuple[I64Array, int, int]:
    """Vectorised counts-array index of every value, clamping out-of-range values.

    Returns ``(indices, clamped_high, clamped_low)``: values above ``layout.highest`` are
    recorded as ``highest`` and values below zero as zero, and counted, so a bad value never
    raises on the hot path.
    """
    v = np.asarray(values)
    if v.dtype != np.int64:
        v = v.astype(np.int64)
    if v.ndim != 1:
        v = v.ravel()
    clamped_high = clamped_low = 0
    if v.size == 0:
        return np.empty(0, dtype=np.int64), 0, 0
    vmax = int(v.max())
    vmin = int(v.min())
    if vmax > layout.highest or vmin < 0:
        clamped_high = int(np.count_nonzero(v > layout.highest))
        clamped_low = int(np.count_nonzero(v < 0))
        v = np.clip(v, 0, layout.highest)
    masked = v | np.int64(layout.sub_bucket_mask)
    # frexp's exponent is the bit length; exact because values are < 2**53.
    _, exponent = np.frexp(masked.astype(np.float64))
    bucket = exponent.astype(np.int64)
    bucket -= layout._bucket_shift
    sub = v >> (bucket + layout.unit_magnitude)
    bucket += 1
    bucket <<= layout.sub_bucket_half_count_magnitude
    bucket += sub
    bucket -= layout.sub_bucket_half_count
    return bucket, clamped_high, clamped_low


class HdrHistogram:
    """HdrHistogram-compatible histogram whose counts live in one numpy int64 array."""

    __slots__ = ("_total", "clamped_high", "clamped_low", "counts", "layout")

    def __init__(
        self,
        lowest: int = 1,
        highest: int = 3_600_000_000,
        significant_figures: int = 3,
        *,
        layout: HdrLayout | None = None,
    ) -> None:
        self.layout = layout if layout is not None else HdrLayout(lowest, highest, significant_figures)
        self.counts: I64Array = np.zeros(self.layout.counts_len, dtype=np.int64)
        self._total = 0
        #: Values recorded as ``highest`` because they were above it.
        self.clamped_high = 0
        #: Values recorded as 0 because they were negative.
        self.clamped_low = 0

    @classmethod
    def from_layout(cls, layout: HdrLayout) -> HdrHistogram:
        return cls(layout=layout)

    # -- recording -------------------------------------------------------------------------

    def record(self, value: int, count: int = 1) -> None:
        """Record one value (slow path; use :meth:`record_many` for batches)."""
        v = int(value)
        layout = self.layout
        if v > layout.highest:
            v = layout.highest
            self.clamped_high += count
        elif v < 0:
            v = 0
            self.clamped_low += count
        self.counts[layout.index_of(v)] += count
        self._total += count

    def record_many(self, values: npt.ArrayLike) -> None:
        """Record every value of an integer array in one vectorised pass."""
        indices, high, low = counts_indices(self.layout, values)
        self.add_indices(indices)
        self.clamped_high += high
        self.clamped_low += low

    def add_indices(self, indices: I64Array) -> None:
        """Add one count at each counts-array index (indices from :func:`counts_indices`)."""
        n = int(indices.size)
        if n == 0:
            return
        if n < _SMALL_BATCH:
            np.add.at(self.counts, indices, 1)
        else:
            self.counts += np.bincount(indices, minlength=self.layout.counts_len)
        self._total += n

    def add_counts(self, counts: I64Array, clamped_high: int = 0, clamped_low: int = 0) -> None:
        """Add a whole counts array of the same layout (used by bulk builders and merge)."""
        if counts.shape != self.counts.shape:
            raise ValueError("counts array does not match this histogram's layout")
        self.counts += counts
        self._total += int(counts.sum())
        self.clamped_high += clamped_high
        self.clamped_low += clamped_low

    def merge(self, other: HdrHistogram) -> None:
        """Add ``other``'s counts into this histogram (exact; layouts must be equal)."""
        if other.layout != self.layout:
            raise ValueError(f"cannot merge histograms with different layouts: {self.layout} vs {other.layout}")
        self.counts += other.counts
        self._total += other._total
        self.clamped_high += other.clamped_high
        self.clamped_low += other.clamped_low

    def reset(self) -> None:
        self.counts[:] = 0
        self._total = 0
        self.clamped_high = 0
        self.clamped_low = 0

    def copy(self) -> HdrHistogram:
        new = HdrHistogram.from_layout(self.layout)
        new.counts[:] = self.counts
        new._total = self._total
        new.clamped_high = self.clamped_high
        new.clamped_low = self.clamped_low
        return new

    # -- queries ---------------------------------------------------------------------------

    @property
    def total_count(self) -> int:
        return self._total

    def __len__(self) -> int:
        return self._total

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HdrHistogram):
            return NotImplemented
        return (
            self.layout == other.layout
            and self._total == other._total
            and self.clamped_high == other.clamped_high
            and self.clamped_low == other.clamped_low
            and bool(np.array_equal(self.counts, other.counts))
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HdrHistogram({self.layout}, total={self._total})"

    def min(self) -> int:
        """Lowest equivalent value of the smallest recorded value (0 when empty)."""
        nz = np.flatnonzero(self.counts)
        return int(_tables(self.layout)[0][nz[0]]) if nz.size else 0

    def max(self) -> int:
        """Highest equivalent value of the largest recorded value (0 when empty)."""
        nz = np.flatnonzero(self.counts)
        return int(_tables(self.layout)[1][nz[-1]]) if nz.size else 0

    def mean(self) -> float:
        """Mean using each bucket's median equivalent value, like HdrHistogram."""
        if self._total == 0:
            return 0.0
        median = _tables(self.layout)[2]
        return float(self.counts.astype(np.float64) @ median.astype(np.float64)) / self._total

    def stddev(self) -> float:
        if self._total == 0:
            return 0.0
        median = _tables(self.layout)[2].astype(np.float64)
        dev = median - self.mean()
        return math.sqrt(float(self.counts.astype(np.float64) @ (dev * dev)) / self._total)

    def value_at_percentile(self, percentile: float) -> int:
        """Value at ``percentile`` (0..100), as HdrHistogram's ``getValueAtPercentile``."""
        return self.percentiles([percentile])[float(percentile)]

    def percentiles(self, percentiles: Iterable[float]) -> dict[float, int]:
        """Values at several percentiles with one cumulative sum.

        The p-th percentile is the highest equivalent value of the first bucket whose
        cumulative count reaches ``ceil(p / 100 * total)`` (the lowest equivalent value for
        p == 0), exactly as HdrHistogram computes it.
        """
        wanted = [float(p) for p in percentiles]
        if self._total == 0:
            return dict.fromkeys(wanted, 0)
        cumulative = np.cumsum(self.counts)
        low, high, _ = _tables(self.layout)
        out: dict[float, int] = {}
        for p in wanted:
            requested = min(max(math.nextafter(p, -math.inf), 0.0), 100.0)
            target = max(math.ceil(requested * self._total / 100.0), 1)
            i = int(np.searchsorted(cumulative, target, side="left"))
            out[p] = int(low[i]) if p == 0.0 else int(high[i])
        return out

    def recorded(self) -> tuple[I64Array, I64Array]:
        """``(highest_equivalent_values, counts)`` of the non-empty buckets, for outputs."""
        nz = np.flatnonzero(self.counts)
        return _tables(self.layout)[1][nz], self.counts[nz]

    # -- wire format -----------------------------------------------------------------------

    def encode(self) -> str:
        """Standard HdrHistogram V2 compressed encoding, base64 text (``hdrh`` compatible)."""
        layout = self.layout
        body = _encode_counts(self.counts)
        payload = (
            _PAYLOAD_HEADER.pack(
                _V2_ENCODING_COOKIE,
                len(body),
                0,
                layout.significant_figures,
                layout.lowest,
                layout.highest,
                1.0,
            )
            + body
        )
        compressed = zlib.compress(payload)
        blob = _OUTER_HEADER.pack(_V2_COMPRESSED_COOKIE, len(compressed)) + compressed
        return base64.b64encode(blob).decode("ascii")

    @classmethod
    def decode(cls, encoded: str | bytes) -> HdrHistogram:
        """Inverse of :meth:`encode`; accepts any V2 compressed base64 histogram."""
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not a base64 HDR histogram: {exc}") from exc
        if len(blob) < _OUTER_HEADER.size:
            raise ValueError("HDR histogram blob too short")
        cookie, length = _OUTER_HEADER.unpack_from(blob)
        if _cookie_base(cookie) != _V2_COMPRESSED_COOKIE_BASE:
            raise ValueError(f"unsupported HDR compressed cookie {cookie:#x} (only V2 is supported)")
        if length != len(blob) - _OUTER_HEADER.size:
            raise ValueError("HDR histogram length field does not match the data")
        try:
            payload = zlib.decompress(blob[_OUTER_HEADER.size :])
        except zlib.error as exc:
            raise ValueError(f"corrupt HDR histogram payload: {exc}") from exc
        if len(payload) < _PAYLOAD_HEADER.size:
            raise ValueError("HDR histogram payload too short")
        cookie, body_len, offset, sig, lowest, highest, _ratio = _PAYLOAD_HEADER.unpack_from(payload)
        if _cookie_base(cookie) != _V2_ENCODING_COOKIE_BASE:
            raise ValueError(f"unsupported HDR encoding cookie {cookie:#x} (only V2 is supported)")
        if offset != 0:
            raise ValueError("HDR histograms with a normalizing index offset are not supported")
        body = payload[_PAYLOAD_HEADER.size : _PAYLOAD_HEADER.size + body_len]
        if len(body) != body_len:
            raise ValueError("HDR histogram payload truncated")
        hist = cls(lowest, highest, sig)
        _decode_counts(body, hist.counts)
        hist._total = int(hist.counts.sum())
        return hist


# -- ZigZag LEB128 with zero-run compression (HdrHistogram V2 counts encoding) ---------------


def _encode_counts(counts: I64Array) -> bytes:
    """Counts up to the last non-zero one; runs of N>1 zeros become the token -N."""
    nz = np.flatnonzero(counts)
    if nz.size == 0:
        return b""
    if int(counts[nz].min()) < 0:
        raise ValueError("cannot encode negative counts")
    gaps = np.diff(nz, prepend=-1) - 1
    pairs = np.empty((nz.size, 2), dtype=np.int64)
    pairs[:, 0] = np.where(gaps == 1, 0, -gaps)
    pairs[:, 1] = counts[nz]
    keep = np.ones((nz.size, 2), dtype=bool)
    keep[:, 0] = gaps > 0
    return _zigzag_encode(pairs[keep])


def _zigzag_encode(tokens: I64Array) -> bytes:
    """ZigZag + HdrHistogram's LEB128 variant (at most 9 bytes; the 9th carries 8 bits).

    Builds an (n, width) byte matrix, width = bytes needed by the largest token, and keeps
    each token's first ``nbytes`` cells in row order: a few passes regardless of n.
    """
    z = ((tokens << 1) ^ (tokens >> 63)).view(np.uint64)
    bits = int(z.max()).bit_length()
    width = 9 if bits > 56 else max(1, (bits + 6) // 7)
    if width == 1:
        return z.astype(np.uint8).tobytes()
    nbytes = np.ones(z.size, dtype=np.uint8)
    for k in range(1, width):
        nbytes += z >= np.uint64(1 << (7 * k))
    cells = np.empty((z.size, width), dtype=np.uint8)
    for k in range(width):
        part = z >> np.uint64(7 * k)
        if k < 8:
            cells[:, k] = (part & np.uint64(0x7F)).astype(np.uint8) | ((nbytes > k + 1).view(np.uint8) << 7)
        else:
            cells[:, k] = part.astype(np.uint8)
    keep = np.arange(width, dtype=np.uint8)[None, :] < nbytes[:, None]
    return cells[keep].tobytes()


def _decode_counts(body: bytes, counts: I64Array) -> None:
    tokens = _zigzag_decode(body)
    if tokens.size == 0:
        return
    step = np.where(tokens < 0, -tokens, 1)
    position = np.cumsum(step) - step
    present = tokens >= 0
    idx = position[present]
    if idx.size and int(idx[-1]) >= counts.size:
        raise ValueError("HDR histogram payload has more counts than its layout allows")
    counts[idx] = tokens[present]


def _zigzag_decode(body: bytes) -> I64Array:
    b = np.frombuffer(body, dtype=np.uint8)
    if b.size == 0:
        return np.empty(0, dtype=np.int64)
    ends = np.flatnonzero(b < 0x80)
    if ends.size == 0 or int(ends[-1]) != b.size - 1:
        return _zigzag_decode_slow(body)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts + 1
    if int(lengths.max()) > 8:  # 9-byte varints carry 8 bits in their last byte: slow path
        return _zigzag_decode_slow(body)
    shift = (np.arange(b.size, dtype=np.int64) - np.repeat(starts, lengths)) * 7
    parts = (b & 0x7F).astype(np.uint64) << shift.astype(np.uint64)
    z = np.add.reduceat(parts, starts)
    return (z >> np.uint64(1)).astype(np.int64) ^ -(z & np.uint64(1)).astype(np.int64)


def _zigzag_decode_slow(body: bytes) -> I64Array:
    out: list[int] = []
    i, n = 0, len(body)
    while i < n:
        value = 0
        for k in range(9):
            if i >= n:
                raise ValueError("truncated varint in HDR histogram payload")
            byte = body[i]
            i += 1
            if k == 8:
                value |= byte << 56
                break
            value |= (byte & 0x7F) << (7 * k)
            if not byte & 0x80:
                break
        out.append((value >> 1) ^ -(value & 1))
    return np.array(out, dtype=np.int64)


def merge_all(histograms: Sequence[HdrHistogram]) -> HdrHistogram:
    """New histogram holding the exact sum of ``histograms`` (at least one)."""
    if not histograms:
        raise ValueError("merge_all needs at least one histogram")
    total = histograms[0].copy()
    for h in histograms[1:]:
        total.merge(h)
    return total
