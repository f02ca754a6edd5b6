"""Threshold expressions (``p95 < 100``) and their evaluation against a results document.

Grammar, one expression per threshold::

    [LEVEL ":"] METRIC [ "{" ("stage" | "phase") ":" NAME "}" ] OP NUMBER [UNIT]

* ``LEVEL`` is ``warning``, ``error`` (the default) or ``critical`` (seed 003's table).
  A failed ``warning`` is reported but does not fail the run.
* ``METRIC`` is a registry name (``p95``, ``error_rate``, ``throughput``...; see
  :data:`METRICS`), or ``NAME.METRIC`` for one named request metric of the results'
  ``metrics`` block (``ws.ping.p95``, ``ws.ping.error_rate``).  ``p(95)`` is accepted as
  a spelling of ``p95``.
* ``OP`` is one of ``<  <=  >  >=  ==  !=``.
* ``UNIT`` is optional: ``ms``, ``s``, ``us`` for latencies (the metric is in ms) and
  ``%`` for rates (``error_rate < 1%``).

A threshold naming a metric that does not exist raises :class:`ThresholdError` when
parsed, so a bad scenario is refused before the run.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..exit_codes import PASSED, SLO_FAILED
from .metric_registry import ALIASES, METRICS, Results, allowed_metrics, scoped_metrics

Level = Literal["warning", "error", "critical"]
LEVELS: tuple[Level, ...] = ("warning", "error", "critical")


class ThresholdError(ValueError):
    """A threshold expression or SLO definition that cannot be used."""


# --------------------------------------------------------------------------- parsing

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}

_EXPR = re.compile(
    r"""^\s*
    (?:(?P<level>warning|error|critical)\s*:\s*)?
    (?P<metric>[A-Za-z_][\w.:\-/()]*?)\s*
    (?:\{\s*(?P<tagkey>stage|phase)\s*[:=]\s*(?P<tagval>[^}]*?)\s*\})?\s*
    (?P<op><=|>=|==|!=|<|>)\s*
    (?P<value>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*
    (?P<unit>ms|us|µs|s|%)?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_LEVEL_PREFIX = re.compile(r"^\s*([A-Za-z]+)\s*:\s*\S")
_P_FUNC = re.compile(r"p\((\d+(?:\.\d+)?)\)")

_LATENCY_UNITS = {"ms": 1.0, "s": 1000.0, "us": 0.001, "µs": 0.001}


@dataclass(frozen=True)
class Threshold:
    text: str
    metric: str  # registry name
    op: str
    value: float  # in the metric's unit (ms for latencies, 0..1 for rates)
    level: Level = "error"
    name: str | None = None  # named request metric (``ws.ping``) from ``metrics``/``pushMetrics``
    stage: str | None = None
    source: str = "threshold"

    @property
    def fails_run(self) -> bool:
        return self.level != "warning"

    def describe(self) -> str:
        scope = f"{self.name}." if self.name else ""
        tag = f"{{stage:{self.stage}}}" if self.stage else ""
        return f"{scope}{self.metric}{tag} {self.op} {format_number(self.value)}"


def format_number(value: float) -> str:
    """Shortest text that parses back to ``value`` (``100``, ``0.01``, ``100000.5``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _resolve(metric: str) -> str | None:
    key = metric.lower()
    key = ALIASES.get(key, key)
    return key if key in METRICS else None


def _unknown(metric: str) -> ThresholdError:
    return ThresholdError(
        f"unknown metric {metric!r}; allowed metrics: {', '.join(allowed_metrics())}; "
        f"or NAME.METRIC for a named request metric (e.g. ws.ping.p95) with METRIC one of: "
        f"{', '.join(scoped_metrics())}"
    )


def parse_threshold(text: str, *, level: Level | None = None, source: str = "threshold") -> Threshold:
    """Parse one threshold expression; raise :class:`ThresholdError` with a clear message."""
    if not isinstance(text, str) or not text.strip():
        raise ThresholdError(f"empty threshold expression: {text!r}")
    normalised = _P_FUNC.sub(r"p\1", text.strip())
    m = _EXPR.match(normalised)
    bad_level = _LEVEL_PREFIX.match(normalised)
    if m is None and bad_level is not None and bad_level.group(1).lower() not in LEVELS:
        raise ThresholdError(
            f"threshold {text!r}: unknown level {bad_level.group(1)!r}; allowed levels: {', '.join(LEVELS)}"
        )
    if m is None:
        raise ThresholdError(
            f"cannot parse threshold {text!r}: expected '[warning:|critical:] METRIC[{{stage:NAME}}] OP NUMBER[unit]', "
            f"e.g. 'p95 < 100' or 'warning: error_rate < 1%'"
        )
    raw_metric = m.group("metric")
    metric = _resolve(raw_metric)
    name: str | None = None
    if metric is None:
        # NAME.METRIC: the leftmost split whose right-hand side is a scoped metric
        for i, ch in enumerate(raw_metric):
            if ch != "." or i == 0:
                continue
            candidate = _resolve(raw_metric[i + 1 :])
            if candidate is not None and METRICS[candidate].scoped is not None:
                name, metric = raw_metric[:i], candidate
                break
        if metric is None:
            raise _unknown(raw_metric)
    mdef = METRICS[metric]
    stage = m.group("tagval")
    if stage is not None and not stage:
        raise ThresholdError(f"threshold {text!r}: empty stage name in {{stage:...}}")
    if (stage is not None or name is not None) and mdef.scoped is None:
        where = f"stage {stage!r}" if stage is not None else f"metric {name!r}"
        raise ThresholdError(
            f"threshold {text!r}: metric {metric!r} is not available per {where.split()[0]}; "
            f"scoped metrics: {', '.join(scoped_metrics())}"
        )
    if stage is not None and name is not None:
        raise ThresholdError(f"threshold {text!r}: use either NAME.metric or {{stage:...}}, not both")
    value = float(m.group("value"))
    unit = m.group("unit")
    if unit:
        unit = unit.lower()
        if unit in _LATENCY_UNITS:
            if mdef.kind != "latency":
                raise ThresholdError(f"threshold {text!r}: unit {unit!r} only applies to latency metrics")
            value *= _LATENCY_UNITS[unit]
        elif unit == "%":
            if mdef.kind != "rate":
                raise ThresholdError(f"threshold {text!r}: '%' only applies to rate metrics")
            value /= 100.0
    text_level = m.group("level")
    lvl: Level = level if level is not None else (_level(text_level) if text_level else "error")
    return Threshold(
        text=text.strip(),
        metric=metric,
        op=m.group("op"),
        value=value,
        level=lvl,
        name=name,
        stage=stage,
        source=source,
    )


def _level(text: str) -> Level:
    low = text.lower()
    for lvl in LEVELS:
        if lvl == low:
            return lvl
    raise ThresholdError(f"unknown threshold level {text!r}; allowed: {', '.join(LEVELS)}")


def parse_thresholds(texts: Iterable[str], *, source: str = "threshold") -> list[Threshold]:
    """Parse many; the first bad one raises (its message names the expression)."""
    return [parse_threshold(t, source=source) for t in texts]


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Verdict:
    threshold: str
    level: Level
    observed: float | None
    passed: bool
    metric: str
    source: str = "threshold"
    message: str = ""

    @property
    def fails_run(self) -> bool:
        return not self.passed and self.level != "warning"

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "level": self.level,
            "metric": self.metric,
            "observed": self.observed,
            "passed": self.passed,
            "source": self.source,
            "message": self.message,
        }


def _scope_block(th: Threshold, results: Results) -> tuple[Results | None, str]:
    if th.stage is not None:
        for st in results.get("stages") or []:
            if isinstance(st, Mapping) and st.get("name") == th.stage:
                return st, ""
        names = [str(st.get("name")) for st in results.get("stages") or [] if isinstance(st, Mapping)]
        return None, f"no stage {th.stage!r} in results (stages: {', '.join(names) or 'none'})"
    assert th.name is not None
    for section in ("metrics", "pushMetrics", "protocols"):
        block = results.get(section)
        if isinstance(block, Mapping) and isinstance(block.get(th.name), Mapping):
            return block[th.name], ""
    named = sorted(k for k in (results.get("metrics") or {}) if isinstance(k, str))
    return None, f"no metric named {th.name!r} in results (named metrics: {', '.join(named) or 'none'})"


def observe(th: Threshold, results: Results) -> tuple[float | None, str]:
    """The observed value for ``th`` in ``results``, or None and why."""
    mdef = METRICS[th.metric]
    if th.stage is None and th.name is None:
        assert mdef.top is not None
        value = mdef.top(results)
        return value, "" if value is not None else f"results have no value for {th.metric!r}"
    block, why = _scope_block(th, results)
    if block is None:
        return None, why
    assert mdef.scoped is not None
    value = mdef.scoped(block)
    return value, "" if value is not None else f"results have no value for {th.describe()!r}"


def evaluate(thresholds: Iterable[Threshold], results: Results) -> list[Verdict]:
    """Judge each threshold; a missing value (or NaN) fails the threshold with a message."""
    out: list[Verdict] = []
    for th in thresholds:
        observed, why = observe(th, results)
        if observed is None or math.isnan(observed):
            passed = False
            message = why or f"{th.metric} is not a number"
        else:
            passed = _OPS[th.op](observed, th.value)
            message = "" if passed else f"observed {format_number(observed)}, want {th.op} {format_number(th.value)}"
        out.append(Verdict(th.text, th.level, observed, passed, th.metric, th.source, message))
    return out


def exit_code(verdicts: Iterable[Verdict]) -> int:
    """1 (``SLO_FAILED``) if any non-warning threshold failed, else 0."""
    return SLO_FAILED if any(v.fails_run for v in verdicts) else PASSED


@dataclass
class _Tally:
    passed: int = 0
    failed: int = 0
    warnings: int = 0
    failures: list[str] = field(default_factory=list)


def verdicts_to_json(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    tally = _Tally()
    for v in verdicts:
        if v.passed:
            tally.passed += 1
        elif v.level == "warning":
            tally.warnings += 1
        else:
            tally.failed += 1
            tally.failures.append(v.threshold)
    return {
        "passed": tally.failed == 0,
        "exitCode": exit_code(verdicts),
        "counts": {"passed": tally.passed, "failed": tally.failed, "warnings": tally.warnings},
        "verdicts": [v.to_json() for v in verdicts],
    }


def render_verdicts(verdicts: Sequence[Verdict]) -> str:
    """Plain-text lines, one per threshold, for the terminal summary."""
    lines = []
    for v in verdicts:
        mark = "PASS" if v.passed else ("WARN" if v.level == "warning" else "FAIL")
        obs = "n/a" if v.observed is None else format_number(round(v.observed, 6))
        tail = f"  ({v.message})" if v.message and not v.passed else ""
        lines.append(f"  {mark}  {v.threshold:<32} observed {obs}{tail}")
    return "\n".join(lines)
