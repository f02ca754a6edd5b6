"""Noise-aware comparison of two results documents (a baseline and a new run).

Seed 002's regression rule is ">15% p95 latency increase or >50% error-rate increase".
A bare ratio of two p95s flags noise as regressions, so each metric's relative change
comes with a bootstrap confidence interval, and a change is called only when

* the interval excludes zero (the change is real at the chosen confidence), and
* the point estimate is beyond the tolerance (15% for p95, 50% for the error rate,
  15% for throughput by default) in the bad direction ("regressed") or the good
  direction ("improved").

Everything else is "no significant change".

Resampling unit: the per-second ``timeSeries`` intervals.  Latency in one interval is
summarised by the per-metric interval p95s (request metrics only: ``connect``,
``first_message`` and ``push:*`` are left out), and the run statistic is their
count-weighted geometric mean (robust to a single spiky second, and a 20% shift of every
latency moves it by exactly 20%); the error rate is failures / completed; the
throughput the mean completions per interval.  Intervals are resampled with a circular
block bootstrap (block length ~ n^(1/3)) so slow drifts inside a run widen the interval
instead of being mistaken for signal.  Runs without a time series fall back to the
``histograms.messages.corrected`` HdrHistogram (multinomial bootstrap) for p95 and to
a binomial bootstrap for the error rate; with neither, a point comparison is reported.
The random generator is seeded, so the same two files always give the same verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..exit_codes import PASSED, SLO_FAILED
from ..metrics.names import is_message

ChangeVerdict = Literal["regressed", "improved", "no significant change"]
Method = Literal["timeseries-bootstrap", "histogram-bootstrap", "rate-ratio", "point", "none"]
F64 = npt.NDArray[np.float64]



@dataclass(frozen=True)
class CompareRules:
    p95_tolerance: float = 0.15  # seed 002: >15% p95 increase is a regression
    error_rate_tolerance: float = 0.50  # seed 002: >50% error-rate increase
    throughput_tolerance: float = 0.15
    confidence: float = 0.95
    n_boot: int = 2000
    seed: int = 20240611
    stage: str | None = None  # compare only intervals of this stage (``phase``)


@dataclass(frozen=True)
class MetricChange:
    metric: str  # "p95", "error_rate", "throughput"
    base: float | None
    new: float | None
    change: float | None  # relative change new/base - 1
    ci_low: float | None
    ci_high: float | None
    verdict: ChangeVerdict
    method: Method
    tolerance: float
    higher_is_worse: bool
    significant: bool
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "base": self.base,
            "new": self.new,
            "relativeChange": self.change,
            "ciLow": self.ci_low,
            "ciHigh": self.ci_high,
            "verdict": self.verdict,
            "significant": self.significant,
            "method": self.method,
            "tolerance": self.tolerance,
            "higherIsWorse": self.higher_is_worse,
            "note": self.note,
        }


@dataclass(frozen=True)
class Comparison:
    changes: list[MetricChange]
    confidence: float
    base_label: str = "base"
    new_label: str = "new"
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> ChangeVerdict:
        verdicts = {c.verdict for c in self.changes}
        if "regressed" in verdicts:
            return "regressed"
        if "improved" in verdicts:
            return "improved"
        return "no significant change"

    @property
    def regressed(self) -> bool:
        return self.verdict == "regressed"

    @property
    def exit_code(self) -> int:
        """``SLO_FAILED`` (1) when any metric regressed, else ``PASSED`` (0)."""
        return SLO_FAILED if self.regressed else PASSED

    def change(self, metric: str) -> MetricChange:
        for c in self.changes:
            if c.metric == metric:
                return c
        raise KeyError(metric)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "regressed": self.regressed,
            "confidence": self.confidence,
            "base": self.base_label,
            "new": self.new_label,
            "metrics": [c.to_json() for c in self.changes],
            "notes": list(self.notes),
        }

    def render_text(self) -> str:
        pct = f"{self.confidence * 100:g}%"
        lines = [f"compare {self.base_label} -> {self.new_label}: {self.verdict.upper()}"]
        header = f"  {'metric':<11} {'base':>12} {'new':>12} {'change':>9}  {pct + ' CI':<20} verdict"
        lines.append(header)
        for c in self.changes:
            lines.append(
                f"  {c.metric:<11} {_fmt_val(c.base):>12} {_fmt_val(c.new):>12} {_fmt_pct(c.change):>9}  "
                f"{_fmt_ci(c.ci_low, c.ci_high):<20} {c.verdict}"
                + (f"  (tolerance {c.tolerance * 100:g}%, {c.method})" if c.verdict != "no significant change" else "")
            )
            if c.note:
                lines.append(f"      note: {c.note}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def _fmt_val(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def _fmt_pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:+.1f}%"


def _fmt_ci(lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None:
        return "n/a"
    return f"[{lo * 100:+.1f}%, {hi * 100:+.1f}%]"


# --------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class _Series:
    lat_sum: F64  # per interval: sum over request metrics of count * log(p95 in ms)
    lat_w: F64  # per interval: request-metric sample count
    completed: F64
    failures: F64

    @property
    def n(self) -> int:
        return int(self.completed.size)


def _f(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


def _interval_latency(metrics: Any) -> tuple[float, float]:
    total = 0.0
    weight = 0.0
    if not isinstance(metrics, Sequence):
        return 0.0, 0.0
    for m in metrics:
        if not isinstance(m, Mapping):
            continue
        name = str(m.get("name", ""))
        if not is_message(name):
            continue
        outcomes = m.get("outcomes") or {}
        count = sum(_f(outcomes.get(k)) for k in ("ok", "failed", "timeout")) if isinstance(outcomes, Mapping) else 0.0
        corrected = m.get("corrected") or {}
        p95_us = corrected.get("p95") if isinstance(corrected, Mapping) else None
        if count <= 0 or p95_us is None:
            continue
        total += count * math.log(max(_f(p95_us), 1.0) / 1000.0)
        weight += count
    return total, weight


def _series(results: Mapping[str, Any], stage: str | None) -> _Series | None:
    ts = results.get("timeSeries")
    if not isinstance(ts, Sequence) or not ts:
        return None
    rows: list[tuple[float, float, float, float]] = []
    for iv in ts:
        if not isinstance(iv, Mapping) or iv.get("partial"):
            continue
        if stage is not None and iv.get("phase") != stage:
            continue
        completed = _f(iv.get("completed"))
        if completed <= 0:
            continue
        lat_sum, lat_w = _interval_latency(iv.get("metrics"))
        rows.append((lat_sum, lat_w, completed, _f(iv.get("failures"))))
    if not rows:
        return None
    arr = np.asarray(rows, dtype=np.float64)
    return _Series(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])


# --------------------------------------------------------------------------- bootstrap


def _block_indices(rng: np.random.Generator, n: int, n_boot: int) -> npt.NDArray[np.intp]:
    """Circular block bootstrap indices, shape (n_boot, n)."""
    block = max(1, round(n ** (1.0 / 3.0)))
    n_blocks = math.ceil(n / block)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]) % n
    return idx.reshape(n_boot, n_blocks * block)[:, :n]


def _ratio_stat(num: F64, den: F64, idx: npt.NDArray[np.intp]) -> F64:
    top = num[idx].sum(axis=1)
    bottom = den[idx].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: F64 = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)
    return out


def _judge(
    metric: str,
    base: float | None,
    new: float | None,
    boot_change: F64 | None,
    rules: CompareRules,
    tolerance: float,
    higher_is_worse: bool,
    method: Method,
    floor: float = 0.0,
    note: str = "",
    ci: tuple[float, float] | None = None,
) -> MetricChange:
    if base is None or new is None:
        return MetricChange(
            metric,
            base,
            new,
            None,
            None,
            None,
            "no significant change",
            "none",
            tolerance,
            higher_is_worse,
            False,
            note or "not available in both runs",
        )
    denom = max(base, floor)
    change = (0.0 if new <= 0 else math.inf) if denom <= 0 else new / denom - 1.0
    lo = hi = None
    significant = False
    if ci is not None:
        lo, hi = ci
        significant = lo > 0.0 or hi < 0.0
    elif boot_change is not None:
        finite = boot_change[np.isfinite(boot_change)]
        if finite.size >= max(20, boot_change.size // 2):
            alpha = (1.0 - rules.confidence) / 2.0
            lo_q, hi_q = np.quantile(finite, [alpha, 1.0 - alpha])
            lo, hi = float(lo_q), float(hi_q)
            significant = lo > 0.0 or hi < 0.0
        else:
            note = note or "too few resamples with data for an interval"
    else:
        # no interval: a point comparison, treated as significant only beyond tolerance
        significant = abs(change) > tolerance
    worse = change if higher_is_worse else -change
    verdict: ChangeVerdict = "no significant change"
    if significant and worse > tolerance:
        verdict = "regressed"
    elif significant and -worse > tolerance:
        verdict = "improved"
    return MetricChange(
        metric,
        base,
        new,
        change if math.isfinite(change) else None,
        lo,
        hi,
        verdict,
        method,
        tolerance,
        higher_is_worse,
        significant,
        note if math.isfinite(change) else (note or "base is zero, new is not"),
    )


def _hist_p95_boot(results: Mapping[str, Any], rng: np.random.Generator, n_boot: int) -> tuple[float, F64] | None:
    hists = results.get("histograms")
    if not isinstance(hists, Mapping):
        return None
    msgs = hists.get("messages")
    if not isinstance(msgs, Mapping) or not isinstance(msgs.get("corrected"), str | bytes):
        return None
    from ..metrics.hdr import HdrHistogram

    try:
        hist = HdrHistogram.decode(msgs["corrected"])
    except Exception:  # a damaged histogram just means no histogram fallback
        return None
    values, counts = hist.recorded()
    total = int(counts.sum())
    if total == 0:
        return None
    scale = 1000.0 if str(msgs.get("unit", "us")) == "us" else 1.0
    vals = values.astype(np.float64) / scale
    point = float(hist.value_at_percentile(95.0)) / scale
    probs = counts.astype(np.float64) / total
    draws = rng.multinomial(total, probs, size=n_boot)
    cum = np.cumsum(draws, axis=1)
    target = np.ceil(0.95 * total)
    pos = (cum < target).sum(axis=1)
    boot: F64 = vals[np.minimum(pos, vals.size - 1)]
    return point, boot


def _top(results: Mapping[str, Any], key: str) -> float | None:
    v = results.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


def compare(
    base: Mapping[str, Any],
    new: Mapping[str, Any],
    rules: CompareRules | None = None,
    *,
    base_label: str = "base",
    new_label: str = "new",
) -> Comparison:
    """Compare two results documents; see the module docstring for the method."""
    rules = rules or CompareRules()
    rng = np.random.default_rng(rules.seed)
    sb, sn = _series(base, rules.stage), _series(new, rules.stage)
    notes: list[str] = []
    if rules.stage is not None and (sb is None or sn is None):
        notes.append(f"stage {rules.stage!r} has no intervals in {'base' if sb is None else 'new'}")
    changes: list[MetricChange] = []

    both_ts = sb is not None and sn is not None
    idx_b = _block_indices(rng, sb.n, rules.n_boot) if sb is not None and both_ts else None
    idx_n = _block_indices(rng, sn.n, rules.n_boot) if sn is not None and both_ts else None

    # ---- p95 latency
    if (
        sb is not None
        and sn is not None
        and idx_b is not None
        and idx_n is not None
        and sb.lat_w.sum() > 0
        and sn.lat_w.sum() > 0
    ):
        b_val = math.exp(float(sb.lat_sum.sum() / sb.lat_w.sum()))
        n_val = math.exp(float(sn.lat_sum.sum() / sn.lat_w.sum()))
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = np.exp(_ratio_stat(sn.lat_sum, sn.lat_w, idx_n) - _ratio_stat(sb.lat_sum, sb.lat_w, idx_b)) - 1.0
        changes.append(
            _judge(
                "p95",
                b_val,
                n_val,
                boot,
                rules,
                rules.p95_tolerance,
                True,
                "timeseries-bootstrap",
                note="count-weighted geometric mean of per-interval request p95s (ms)",
            )
        )
    else:
        hb, hn = _hist_p95_boot(base, rng, rules.n_boot), _hist_p95_boot(new, rng, rules.n_boot)
        if hb is not None and hn is not None and rules.stage is None:
            with np.errstate(invalid="ignore", divide="ignore"):
                boot = hn[1] / hb[1] - 1.0
            changes.append(
                _judge(
                    "p95",
                    hb[0],
                    hn[0],
                    boot,
                    rules,
                    rules.p95_tolerance,
                    True,
                    "histogram-bootstrap",
                    note="whole-run HdrHistogram p95; samples treated as independent",
                )
            )
        else:
            changes.append(
                _judge(
                    "p95",
                    _top(base, "p95LatencyMs"),
                    _top(new, "p95LatencyMs"),
                    None,
                    rules,
                    rules.p95_tolerance,
                    True,
                    "point",
                    note="no time series or histogram: point comparison",
                )
            )

    # ---- error rate
    if sb is not None and sn is not None and idx_b is not None and idx_n is not None:
        fb, cb = float(sb.failures.sum()), float(sb.completed.sum())
        fn, cn = float(sn.failures.sum()), float(sn.completed.sum())
        # between-interval (over-dispersion) variance of each run's log error rate
        with np.errstate(invalid="ignore", divide="ignore"):
            lb = np.log((sb.failures[idx_b].sum(axis=1) + 0.5) / sb.completed[idx_b].sum(axis=1))
            ln = np.log((sn.failures[idx_n].sum(axis=1) + 0.5) / sn.completed[idx_n].sum(axis=1))
        boot_var = float(np.nanvar(lb) + np.nanvar(ln)) if lb.size > 1 else 0.0
        changes.append(_error_rate_change(fb, cb, fn, cn, boot_var, rules, "timeseries-bootstrap"))
    else:
        changes.append(_error_rate_binomial(base, new, rules))

    # ---- throughput
    if sb is not None and sn is not None and idx_b is not None and idx_n is not None:
        b_tp = float(sb.completed.mean())
        n_tp = float(sn.completed.mean())
        boot = sn.completed[idx_n].mean(axis=1) / sb.completed[idx_b].mean(axis=1) - 1.0
        changes.append(
            _judge(
                "throughput",
                b_tp,
                n_tp,
                boot,
                rules,
                rules.throughput_tolerance,
                False,
                "timeseries-bootstrap",
                note="mean completions per non-empty interval",
            )
        )
    else:
        changes.append(
            _judge(
                "throughput",
                _top(base, "throughputQps"),
                _top(new, "throughputQps"),
                None,
                rules,
                rules.throughput_tolerance,
                False,
                "point",
            )
        )
    if not both_ts:
        notes.append("at least one run has no usable timeSeries; intervals are approximate or absent")
    return Comparison(changes, rules.confidence, base_label, new_label, notes)


def _error_rate_change(
    fb: float, cb: float, fn: float, cn: float, extra_var: float, rules: CompareRules, method: Method
) -> MetricChange:
    """Error-rate change with a rate-ratio interval on the log scale.

    Variance: the larger of the Poisson variance of the log ratio (with a +0.5 continuity
    correction, so zero failures stay finite) and the block-bootstrap variance, which
    captures bursts of errors that make failures over-dispersed.
    """
    b_err, n_err = fb / cb, fn / cn
    tol = rules.error_rate_tolerance
    if fb == 0.0 and fn == 0.0:
        return _judge("error_rate", 0.0, 0.0, None, rules, tol, True, "point")
    log_rr = math.log((fn + 0.5) / cn) - math.log((fb + 0.5) / cb)
    var = max(1.0 / (fb + 0.5) + 1.0 / (fn + 0.5), extra_var)
    z = NormalDist().inv_cdf(0.5 + rules.confidence / 2.0)
    half = z * math.sqrt(var)
    ci = (math.exp(log_rr - half) - 1.0, math.exp(log_rr + half) - 1.0)
    floor = 0.5 / cb  # half an error: keeps a 0 -> k change finite
    note = "rate ratio, log-normal interval (Poisson or bootstrap variance, whichever is larger)"
    return _judge("error_rate", b_err, n_err, None, rules, tol, True, method, floor=floor, note=note, ci=ci)


def _error_rate_binomial(base: Mapping[str, Any], new: Mapping[str, Any], rules: CompareRules) -> MetricChange:
    tb, fb = _top(base, "totalMessages"), _top(base, "failedMessages")
    tn, fn = _top(new, "totalMessages"), _top(new, "failedMessages")
    if not tb or not tn or fb is None or fn is None:
        return _judge(
            "error_rate",
            _top(base, "errorRate"),
            _top(new, "errorRate"),
            None,
            rules,
            rules.error_rate_tolerance,
            True,
            "point",
        )
    return _error_rate_change(fb, tb, fn, tn, 0.0, rules, "rate-ratio")
