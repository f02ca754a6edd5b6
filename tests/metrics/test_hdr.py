"""HdrHistogram: layout, bulk recording, percentiles, exact merge, V2 wire format, hdrh interop."""

from __future__ import annotations

import base64
import math
import zlib

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram as RefHistogram
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from streamtestbench.metrics.hdr import LATENCY_US, HdrHistogram, HdrLayout, counts_indices, merge_all

HIGHEST = LATENCY_US.highest

latency_values = hnp.arrays(
    np.int64,
    st.integers(1, 400),
    elements=st.one_of(st.integers(0, 5_000), st.integers(0, HIGHEST)),
)

layouts = st.builds(
    HdrLayout,
    lowest=st.integers(1, 1000),
    highest=st.integers(10**4, 2**53),
    significant_figures=st.integers(1, 5),
).filter(lambda layout: layout.counts_len <= 2**18)  # keep arrays small (sf=5 up to 2**53 is 39 MB)


def ref_counts(ref: RefHistogram) -> np.ndarray:
    return np.ctypeslib.as_array(ref.counts).astype(np.int64)


def lognormal_values(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.minimum(rng.lognormal(7.0, 2.0, n).astype(np.int64) + 1, HIGHEST)


# -- layout ----------------------------------------------------------------------------------


@settings(deadline=None)
@given(layouts)
def test_layout_matches_reference_implementation(layout: HdrLayout) -> None:
    ref = RefHistogram(layout.lowest, layout.highest, layout.significant_figures)
    assert layout.counts_len == ref.counts_len
    assert layout.bucket_count == ref.bucket_count
    assert layout.sub_bucket_count == ref.sub_bucket_count
    assert layout.unit_magnitude == ref.unit_magnitude


def test_default_latency_layout() -> None:
    h = HdrHistogram()
    assert h.layout == LATENCY_US == HdrLayout(1, 3_600_000_000, 3)
    assert h.counts.shape == (23552,)
    assert h.counts.dtype == np.int64


@pytest.mark.parametrize(
    ("lowest", "highest", "sig"),
    [(0, 100, 3), (10, 15, 3), (1, 2**60, 3), (1, 1000, 6), (1, 1000, -1)],
)
def test_invalid_layouts_rejected(lowest: int, highest: int, sig: int) -> None:
    with pytest.raises(ValueError):
        HdrLayout(lowest, highest, sig)


@settings(max_examples=50, deadline=None)
@given(layouts, st.data())
def test_vectorised_indices_match_reference(layout: HdrLayout, data: st.DataObject) -> None:
    values = data.draw(hnp.arrays(np.int64, st.integers(1, 100), elements=st.integers(0, layout.highest)))
    ref = RefHistogram(layout.lowest, layout.highest, layout.significant_figures)
    indices, high, low = counts_indices(layout, values)
    assert (high, low) == (0, 0)
    assert indices.tolist() == [ref.get_counts_array_index(int(v)) for v in values]
    assert indices.tolist() == [layout.index_of(int(v)) for v in values]


# -- recording ---------------------------------------------------------------------------------


@given(latency_values)
def test_record_many_equals_record_one_by_one(values: np.ndarray) -> None:
    bulk = HdrHistogram()
    bulk.record_many(values)
    single = HdrHistogram()
    for v in values:
        single.record(int(v))
    assert bulk == single
    assert bulk.total_count == values.size


def test_record_many_large_batch_uses_bincount_path() -> None:
    values = lognormal_values(1, 50_000)
    bulk = HdrHistogram()
    bulk.record_many(values)
    small = HdrHistogram()
    for chunk in np.array_split(values, 100):  # 500 each -> np.add.at path
        small.record_many(chunk)
    assert bulk == small
    assert bulk.total_count == 50_000


def test_record_with_count() -> None:
    h = HdrHistogram()
    h.record(1000, count=5)
    assert h.total_count == 5
    assert h.value_at_percentile(50) == 1000


def test_counts_match_hdrh_record_value() -> None:
    values = lognormal_values(2, 5_000)
    ours = HdrHistogram()
    ours.record_many(values)
    ref = RefHistogram(1, HIGHEST, 3)
    for v in values:
        ref.record_value(int(v))
    assert np.array_equal(ours.counts, ref_counts(ref))
    assert ours.min() == ref.get_min_value()
    assert ours.max() == ref.get_max_value()
    assert ours.mean() == pytest.approx(ref.get_mean_value())
    assert ours.stddev() == pytest.approx(ref.get_stddev())


def test_out_of_range_values_are_clamped_and_counted() -> None:
    h = HdrHistogram()
    h.record_many(np.array([-5, 10, HIGHEST + 1, 10**15, HIGHEST], dtype=np.int64))
    h.record(-1)
    h.record(HIGHEST * 2)
    assert h.total_count == 7
    assert h.clamped_high == 3
    assert h.clamped_low == 2
    assert h.value_at_percentile(0) == 0
    assert h.max() == LATENCY_US.highest_equivalent(HIGHEST)


def test_record_many_accepts_other_dtypes_and_empty() -> None:
    h = HdrHistogram()
    h.record_many(np.array([], dtype=np.int64))
    h.record_many(np.array([1, 2, 3], dtype=np.int32))
    h.record_many([4, 5])
    h.record_many(np.array([[6, 7]], dtype=np.uint16))
    assert h.total_count == 7
    assert h.max() == 7


# -- queries -----------------------------------------------------------------------------------


def exact_percentile_candidates(values: np.ndarray, p: float) -> set[int]:
    """numpy's exact (inverted CDF) percentile, plus the neighbouring rank when p * n / 100 is
    within float rounding of an integer: HdrHistogram (and we) nudge p down one ulp there,
    numpy does not, so 99.9% of 2000 may legitimately be rank 1998 or 1999."""
    out = {int(np.percentile(values, p, method="inverted_cdf"))}
    k = p * values.size / 100
    if p > 0 and abs(k - round(k)) < 1e-9 * max(k, 1):
        ordered = np.sort(values)
        for rank in (round(k), round(k) + 1):
            out.add(int(ordered[min(max(rank, 1), values.size) - 1]))
    return out


@settings(max_examples=300)
@given(latency_values, st.lists(st.floats(0.0, 100.0), min_size=1, max_size=6))
def test_percentiles_within_precision_of_numpy(values: np.ndarray, percentiles: list[float]) -> None:
    h = HdrHistogram()
    h.record_many(values)
    got = h.percentiles([*percentiles, 50.0, 90.0, 99.0, 99.9])
    for p, value in got.items():
        candidates = exact_percentile_candidates(values, p)
        # Same HDR bucket as the exact value, hence within the histogram's precision.
        if p == 0.0:
            assert value in {LATENCY_US.lowest_equivalent(e) for e in candidates}
        else:
            assert value in {LATENCY_US.highest_equivalent(e) for e in candidates}
        assert any(abs(value - e) <= e / 10**3 for e in candidates)
        assert h.value_at_percentile(p) == value


def test_percentile_edges() -> None:
    h = HdrHistogram()
    assert h.percentiles([50, 99]) == {50.0: 0, 99.0: 0}
    assert (h.min(), h.max(), h.mean(), h.stddev()) == (0, 0, 0.0, 0.0)
    h.record_many(np.arange(1, 101, dtype=np.int64))
    assert h.value_at_percentile(0) == 1
    assert h.value_at_percentile(1) == 1
    assert h.value_at_percentile(50) == 50
    assert h.value_at_percentile(99) == 99
    assert h.value_at_percentile(100) == 100
    assert h.value_at_percentile(250) == 100
    assert h.mean() == pytest.approx(50.5)
    assert h.stddev() == pytest.approx(float(np.std(np.arange(1, 101))))


def test_recorded_buckets() -> None:
    h = HdrHistogram()
    h.record_many(np.array([5, 5, 3000, 3001], dtype=np.int64))
    values, counts = h.recorded()
    assert values.tolist() == [5, 3001]
    assert counts.tolist() == [2, 2]


# -- merge -------------------------------------------------------------------------------------


@settings(max_examples=50)
@given(latency_values, st.integers(0, 2**32))
def test_merge_of_four_workers_equals_one_histogram(values: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    owner = rng.integers(0, 4, values.size)
    workers = []
    for w in range(4):
        h = HdrHistogram()
        h.record_many(values[owner == w])
        workers.append(h)
    single = HdrHistogram()
    single.record_many(values)

    merged = HdrHistogram()
    for h in workers:
        merged.merge(h)
    assert np.array_equal(merged.counts, single.counts)
    assert merged.total_count == single.total_count
    assert merged.encode() == single.encode()
    assert merge_all(workers) == single
    # Merging through the wire format is exact too.
    via_wire = HdrHistogram()
    for h in workers:
        via_wire.merge(HdrHistogram.decode(h.encode()))
    assert via_wire.encode() == single.encode()


def test_merge_requires_same_layout() -> None:
    with pytest.raises(ValueError, match="layout"):
        HdrHistogram().merge(HdrHistogram(1, 3_600_000_000, 2))


def test_copy_and_reset() -> None:
    h = HdrHistogram()
    h.record_many(np.array([1, 2, HIGHEST + 1], dtype=np.int64))
    c = h.copy()
    assert c == h
    h.reset()
    assert h.total_count == 0 and h.clamped_high == 0 and not h.counts.any()
    assert c.total_count == 3 and c.clamped_high == 1


# -- wire format -------------------------------------------------------------------------------


@given(latency_values)
def test_encode_decode_round_trip(values: np.ndarray) -> None:
    h = HdrHistogram()
    h.record_many(values)
    d = HdrHistogram.decode(h.encode())
    assert np.array_equal(d.counts, h.counts)
    assert d.total_count == h.total_count
    assert d.layout == h.layout


@settings(deadline=None)
@given(layouts, st.lists(st.tuples(st.integers(0, 2**53), st.integers(1, 2**58)), max_size=20))
def test_round_trip_any_layout_and_huge_counts(layout: HdrLayout, entries: list[tuple[int, int]]) -> None:
    # Counts >= 2**55 need HdrHistogram's 9-byte varints (8 bits in the last byte).
    h = HdrHistogram(layout.lowest, layout.highest, layout.significant_figures)
    for value, count in entries:
        h.record(value, count)
    d = HdrHistogram.decode(h.encode())
    assert np.array_equal(d.counts, h.counts)
    assert d.layout == layout


def test_empty_histogram_round_trip() -> None:
    e = HdrHistogram().encode()
    assert HdrHistogram.decode(e) == HdrHistogram()
    assert RefHistogram.decode(e).get_total_count() == 0


def test_encoding_is_standard_v2() -> None:
    h = HdrHistogram()
    h.record_many(np.array([1, 1, 7, 3000], dtype=np.int64))
    blob = base64.b64decode(h.encode())
    assert int.from_bytes(blob[:4], "big") == 0x1C849314  # V2 compressed cookie
    assert int.from_bytes(blob[4:8], "big") == len(blob) - 8
    payload = zlib.decompress(blob[8:])
    assert int.from_bytes(payload[:4], "big") == 0x1C849313  # V2 encoding cookie
    assert int.from_bytes(payload[12:16], "big") == 3  # significant figures
    assert int.from_bytes(payload[16:24], "big") == 1
    assert int.from_bytes(payload[24:32], "big") == HIGHEST
    # idx0: a single zero is written as 0 (as Java does); idx1: 2; idx2..6: run of five
    # zeros written as -5; idx7: 1. ZigZag: 0->0, 2->4, -5->9, 1->2.
    assert payload[40:44] == bytes([0, 4, 9, 2])


@pytest.mark.parametrize("garbage", ["", "not base64!", base64.b64encode(b"\x00" * 16).decode(), "HISTFAAAA"])
def test_decode_rejects_garbage(garbage: str) -> None:
    with pytest.raises(ValueError):
        HdrHistogram.decode(garbage)


# -- interop with the hdrh package ---------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(latency_values)
def test_hdrh_decodes_our_encoding(values: np.ndarray) -> None:
    h = HdrHistogram()
    h.record_many(values)
    ref = RefHistogram.decode(h.encode())
    assert np.array_equal(ref_counts(ref), h.counts)
    assert ref.get_total_count() == h.total_count
    assert ref.get_max_value() == h.max()
    assert ref.get_min_value() == h.min()
    assert ref.get_mean_value() == pytest.approx(h.mean())


@settings(max_examples=25, deadline=None)
@given(latency_values)
def test_we_decode_hdrh_encoding(values: np.ndarray) -> None:
    ref = RefHistogram(1, HIGHEST, 3)
    for v in values:
        ref.record_value(int(v))
    d = HdrHistogram.decode(ref.encode())
    assert d.layout == LATENCY_US
    assert np.array_equal(d.counts, ref_counts(ref))
    assert d.total_count == ref.get_total_count()
    assert d.max() == ref.get_max_value()


@pytest.mark.parametrize(("lowest", "highest", "sig"), [(1, 10**6, 1), (1000, 60 * 10**9, 2), (1, 2**30, 4)])
def test_hdrh_interop_other_layouts(lowest: int, highest: int, sig: int) -> None:
    values = np.random.default_rng(3).integers(0, highest, 2000)
    ours = HdrHistogram(lowest, highest, sig)
    ours.record_many(values)
    ref = RefHistogram(lowest, highest, sig)
    for v in values:
        ref.record_value(int(v))
    assert np.array_equal(HdrHistogram.decode(ref.encode()).counts, ours.counts)
    assert np.array_equal(ref_counts(RefHistogram.decode(ours.encode())), ours.counts)
    back = RefHistogram.decode(ours.encode())
    for p in (50.0, 90.0, 99.0, 99.9):
        # hdrh rounds the target count to nearest instead of up; compare where both agree on rank.
        rank = math.ceil(p * ours.total_count / 100)
        if rank == int(p * ours.total_count / 100 + 0.5):
            assert back.get_value_at_percentile(p) == ours.value_at_percentile(p)
