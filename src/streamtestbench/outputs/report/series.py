"""Extract per-interval series from a results document (shared by the HTML and CSV reports).

The results' ``timeSeries`` holds one entry per interval (normally one second). Each entry's
``metrics`` is a list of ``{name, tags, corrected{p50,p95,p99}, uncorrected{...}}`` with values in
microseconds. A percentile of several labels cannot be combined exactly, so the "all messages"
series is an upper bound: per interval, the highest value over the message labels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...metrics.names import is_message

PERCENTILES: tuple[str, ...] = ("p50", "p95", "p99")
ALL_MESSAGES = "all messages"
# Labels that are connection-level, not request/response latency.


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _pct(block: Any, key: str) -> float | None:
    """Percentile ``key`` ("p50") from a corrected/uncorrected block in µs, returned in ms."""
    if not isinstance(block, Mapping):
        return None
    raw = block.get(key)
    if raw is None:
        raw = block.get(key[1:])  # tolerate {"50": ...}
    v = _num(raw)
    return None if v is None else v / 1000.0


@dataclass
class IntervalRow:
    index: int
    elapsed_s: float
    throughput: float
    completed: int
    failures: int
    active_connections: int | None
    phase: str
    step: str
    errors: dict[str, int]
    # label -> "corrected"/"uncorrected" -> percentile -> ms
    latency: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)


def _merge_max(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def interval_rows(results: Mapping[str, Any]) -> list[IntervalRow]:
    ts = results.get("timeSeries")
    if not isinstance(ts, Sequence) or isinstance(ts, str | bytes):
        return []
    entries = [e for e in ts if isinstance(e, Mapping)]
    t0: float | None = None
    for e in entries:
        s = _num(e.get("start_ns"))
        if s is not None:
            t0 = s if t0 is None else min(t0, s)
    rows: list[IntervalRow] = []
    for pos, e in enumerate(entries):
        idx_raw = _num(e.get("index"))
        idx = int(idx_raw) if idx_raw is not None else pos
        start = _num(e.get("start_ns"))
        elapsed = (start - t0) / 1e9 if start is not None and t0 is not None else float(idx)
        errors: dict[str, int] = {}
        errs = e.get("errors")
        if isinstance(errs, Mapping):
            for k, v in errs.items():
                n = _num(v)
                if n is not None:
                    errors[str(k)] = int(n)
        active = _num(e.get("active_connections"))
        row = IntervalRow(
            index=idx,
            elapsed_s=round(elapsed, 3),
            throughput=_num(e.get("throughput")) or 0.0,
            completed=int(_num(e.get("completed")) or 0),
            failures=int(_num(e.get("failures")) or 0),
            active_connections=None if active is None else int(active),
            phase=str(e.get("phase") or ""),
            step=str(e.get("step") or ""),
            errors=errors,
        )
        metrics = e.get("metrics")
        items: list[tuple[str, Mapping[str, Any]]] = []
        if isinstance(metrics, Mapping):  # tolerate {label: {...}}
            items = [(str(k), v) for k, v in metrics.items() if isinstance(v, Mapping)]
        elif isinstance(metrics, Sequence) and not isinstance(metrics, str | bytes):
            items = [(str(m.get("name", "")), m) for m in metrics if isinstance(m, Mapping)]
        for name, m in items:
            for kind in ("corrected", "uncorrected"):
                dest = row.latency.setdefault(name, {}).setdefault(kind, {})
                for p in PERCENTILES:
                    dest[p] = _merge_max(dest.get(p), _pct(m.get(kind), p))
                if is_message(name):
                    agg = row.latency.setdefault(ALL_MESSAGES, {}).setdefault(kind, {})
                    for p in PERCENTILES:
                        agg[p] = _merge_max(agg.get(p), dest[p])
        rows.append(row)
    return rows


def labels(rows: Sequence[IntervalRow]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        for name in r.latency:
            seen.setdefault(name, None)
    names = sorted(n for n in seen if n != ALL_MESSAGES)
    msg = [n for n in names if is_message(n)]
    other = [n for n in names if not is_message(n)]
    return ([ALL_MESSAGES] if ALL_MESSAGES in seen else []) + msg + other


def latency(row: IntervalRow, label: str, kind: str, pct: str) -> float | None:
    return row.latency.get(label, {}).get(kind, {}).get(pct)
