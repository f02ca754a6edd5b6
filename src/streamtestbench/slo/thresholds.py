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

import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ..exit_codes import PASSED, SLO_FAILED

Level = Literal["warning", "error", "critical"]
LEVELS: tuple[Level, ...] = ("warning", "error", "critical")

Results = Mapping[str, Any]


class ThresholdError(ValueError):
    """A threshold expression or SLO definition that cannot be used."""


# --------------------------------------------------------------------------- registry

Kind = Literal["latency", "rate", "count", "qps"]


@dataclass(frozen=True)
class MetricDef:
    name: str
    kind: Kind
    description: str
    # results document (or one stage / named-metric block) -> value; None when absent
    top: Callable[[Results], float | None] | None
    scoped: Callable[[Results], float | None] | None = None  # for {stage:..} and NAME.metric


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _path(*keys: str) -> Callable[[Results], float | None]:
    def get(doc: Results) -> float | None:
        cur: Any = doc
        for key in keys:
            if not isinstance(cur, Mapping) or key not in cur:
                return None
            cur = cur[key]
        return _num(cur)

    return get


def _ratio(
    num: Callable[[Results], float | None], den: Callable[[Results], float | None]
) -> Callable[[Results], float | None]:
    def get(doc: Results) -> float | None:
        n, d = num(doc), den(doc)
        if n is None or d is None:
            return None
        return n / d if d > 0 else 0.0

    return get


def _scoped_total(doc: Results) -> float | None:
    # stages say totalMessages/failedMessages; named metrics say total/failed
    return _num(doc.get("totalMessages", doc.get("total")))


def _scoped_failed(doc: Results) -> float | None:
    return _num(doc.get("failedMessages", doc.get("failed")))


def _scoped_ok(doc: Results) -> float | None:
    return _num(doc.get("successfulMessages", doc.get("successful")))


def _top_success_rate(doc: Results) -> float | None:
    total, ok = _num(doc.get("totalMessages")), _num(doc.get("successfulMessages"))
    if total is not None and ok is not None:
        return ok / total if total > 0 else 1.0
    err = _num(doc.get("errorRate"))
    return None if err is None else 1.0 - err


def _scoped_error_rate(doc: Results) -> float | None:
    total, failed = _scoped_total(doc), _scoped_failed(doc)
    if total is None or failed is None:
        return None
    return failed / total if total > 0 else 0.0


def _scoped_success_rate(doc: Results) -> float | None:
    rate = _scoped_error_rate(doc)
    return None if rate is None else 1.0 - rate


_PCTS: dict[str, str] = {"p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99", "p99.9": "p999"}
_TOP_LATENCY: dict[str, str] = {
    "p50": "p50LatencyMs",
    "p90": "p90LatencyMs",
    "p95": "p95LatencyMs",
    "p99": "p99LatencyMs",
    "p99.9": "p999LatencyMs",
    "max": "maxLatencyMs",
    "min": "minLatencyMs",
    "avg": "averageLatencyMs",
}
_BLOCK_KEY: dict[str, str] = {**_PCTS, "max": "max", "min": "min", "avg": "avg"}


def _build_registry() -> dict[str, MetricDef]:
    reg: dict[str, MetricDef] = {}

    def add(m: MetricDef) -> None:
        reg[m.name] = m

    for agg, top_key in _TOP_LATENCY.items():
        block_key = _BLOCK_KEY[agg]
        add(
            MetricDef(
                agg,
                "latency",
                f"corrected (coordinated-omission) latency {agg}, ms",
                _path(top_key),
                _path("latencyMs", block_key),
            )
        )
        add(
            MetricDef(
                f"uncorrected_{agg}",
                "latency",
                f"uncorrected (service-time) latency {agg}, ms",
                _path("uncorrectedLatencyMs", block_key),
                _path("uncorrectedLatencyMs", block_key),
            )
        )
        add(
            MetricDef(
                f"connect_{agg}",
                "latency",
                f"connect time {agg}, ms",
                _path("connectionMetrics", "connectTimeMs", block_key),
            )
        )
        add(
            MetricDef(
                f"first_message_{agg}",
                "latency",
                f"time to first message {agg}, ms",
                _path("connectionMetrics", "timeToFirstMessageMs", block_key),
            )
        )
    add(MetricDef("error_rate", "rate", "failed / total messages (0..1)", _path("errorRate"), _scoped_error_rate))
    add(MetricDef("success_rate", "rate", "successful / total (0..1)", _top_success_rate, _scoped_success_rate))
    add(MetricDef("throughput", "qps", "completed messages per second", _path("throughputQps")))
    add(MetricDef("dropped_iterations", "count", "iterations the pacer could not start", _path("droppedIterations")))
    add(MetricDef("messages_total", "count", "messages completed (ok + failed)", _path("totalMessages"), _scoped_total))
    add(MetricDef("messages_failed", "count", "failed messages", _path("failedMessages"), _scoped_failed))
    add(MetricDef("messages_successful", "count", "successful messages", _path("successfulMessages"), _scoped_ok))
    add(MetricDef("messages_sent", "count", "messages sent", _path("messageMetrics", "messagesSent")))
    add(MetricDef("messages_received", "count", "messages received", _path("messageMetrics", "messagesReceived")))
    add(MetricDef("connections_total", "count", "connection attempts", _path("connectionMetrics", "totalConnections")))
    add(MetricDef("connections_failed", "count", "failed connections", _path("connectionMetrics", "failedConnections")))
    add(MetricDef("reconnects", "count", "reconnects", _path("connectionMetrics", "reconnects")))
    add(
        MetricDef(
            "connection_success_rate",
            "rate",
            "successful / attempted connections (0..1)",
            _ratio(_path("connectionMetrics", "successfulConnections"), _path("connectionMetrics", "totalConnections")),
        )
    )
    return reg


METRICS: dict[str, MetricDef] = _build_registry()
ALIASES: dict[str, str] = {
    "p999": "p99.9",
    "mean": "avg",
    "average": "avg",
    "uncorrected_p999": "uncorrected_p99.9",
    "uncorrected_mean": "uncorrected_avg",
    "qps": "throughput",
    "throughput_qps": "throughput",
    "errors": "messages_failed",
    "dropped": "dropped_iterations",
}


def allowed_metrics() -> list[str]:
    return sorted(METRICS)


def scoped_metrics() -> list[str]:
    """Metrics that may be used with ``{stage:NAME}`` or as ``NAME.metric``."""
    return sorted(name for name, m in METRICS.items() if m.scoped is not None)


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
        return f"{scope}{self.metric}{tag} {self.op} {_fmt(self.value)}"


def _fmt(value: float) -> str:
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


# --------------------------------------------------------------------------- SLO sources

# Seed 002's default SLOs per protocol.
DEFAULT_SLOS: dict[str, dict[str, float]] = {
    "websocket": {"max_error_rate": 0.01, "max_p95_latency_ms": 100.0, "min_throughput_qps": 10.0},
    "mqtt": {"max_error_rate": 0.02, "max_p95_latency_ms": 200.0, "min_throughput_qps": 5.0},
    "http": {"max_error_rate": 0.005, "max_p95_latency_ms": 300.0, "min_throughput_qps": 20.0},
}

# SLO key (snake_case) -> (metric, operator)
_SLO_KEYS: dict[str, tuple[str, str]] = {
    "max_error_rate": ("error_rate", "<="),
    "max_p95_latency_ms": ("p95", "<="),
    "max_p99_latency_ms": ("p99", "<="),
    "min_throughput_qps": ("throughput", ">="),
    "min_success_rate": ("success_rate", ">="),
}
_IGNORED_KEYS = {"abort_on_fail", "abort_delay", "thresholds"}


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def thresholds_from_slo_mapping(data: Mapping[str, Any], *, source: str = "slo") -> list[Threshold]:
    """Thresholds from one SLO block: ``{max_error_rate: .., max_p95_latency_ms: .., thresholds: [..]}``.

    Keys may be snake_case (seed 002) or camelCase (the scenario file); unknown keys are
    an error so a typo cannot silently disable an SLO.
    """
    out: list[Threshold] = []
    for raw_key, value in data.items():
        key = _snake(str(raw_key))
        if key in _SLO_KEYS:
            if value is None:
                continue
            num = _num(value)
            if num is None:
                raise ThresholdError(f"{source}: {raw_key} must be a number, got {value!r}")
            metric, op = _SLO_KEYS[key]
            out.append(Threshold(f"{metric} {op} {_fmt(num)}", metric, op, num, source=source))
        elif key == "thresholds":
            if value is None:
                continue
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise ThresholdError(f"{source}: thresholds must be a list of expressions")
            out.extend(parse_thresholds([str(v) for v in value], source=source))
        elif key in _IGNORED_KEYS:
            continue
        else:
            raise ThresholdError(
                f"{source}: unknown SLO key {raw_key!r}; allowed: {', '.join(sorted([*_SLO_KEYS, 'thresholds']))}"
            )
    return out


def thresholds_from_validation(validation: Any) -> list[Threshold]:
    """Thresholds from a scenario's ``validation`` block (the pydantic model or its dict)."""
    if validation is None:
        return []
    if isinstance(validation, Mapping):
        data: Mapping[str, Any] = validation
    elif hasattr(validation, "model_dump"):
        data = validation.model_dump()
    else:
        raise ThresholdError(f"validation: expected a mapping or Validation model, got {type(validation).__name__}")
    return thresholds_from_slo_mapping(data, source="validation")


def default_slo_thresholds(protocol: str) -> list[Threshold]:
    """Seed 002's default SLOs for ``protocol`` (``websocket``/``mqtt``/``http``); [] if none."""
    slo = DEFAULT_SLOS.get(protocol.lower())
    return [] if slo is None else thresholds_from_slo_mapping(slo, source=f"default-slo:{protocol.lower()}")


def load_slo_file(path: str | Path, protocol: str | None = None) -> list[Threshold]:
    """Thresholds from a YAML/JSON SLO file.

    Accepted shapes: seed 002's per-protocol mapping (``{websocket: {...}, mqtt: {...}}``,
    the block for ``protocol`` is used, falling back to a ``default`` block), or a single
    flat SLO block (``{max_error_rate: .., thresholds: [..]}``).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ThresholdError(f"cannot read SLO file {str(p)!r}: {exc.strerror or exc}") from exc
    try:
        # JSON is a subset of YAML, but json.loads gives better messages for .json files
        data: Any = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ThresholdError(f"SLO file {str(p)!r} is not valid JSON/YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ThresholdError(f"SLO file {str(p)!r}: expected a mapping at the top level")
    source = f"slo-file:{p.name}"
    flat_keys = set(_SLO_KEYS) | {"thresholds"}
    if any(_snake(str(k)) in flat_keys for k in data):
        return thresholds_from_slo_mapping(data, source=source)
    if protocol is None:
        raise ThresholdError(f"SLO file {str(p)!r} is per protocol ({', '.join(map(str, data))}); name the protocol")
    proto = protocol.lower()
    lowered = {str(k).lower(): v for k, v in data.items()}
    block = lowered.get(proto, lowered.get("default"))
    if block is None:
        return []
    if not isinstance(block, Mapping):
        raise ThresholdError(f"SLO file {str(p)!r}: block {proto!r} must be a mapping")
    return thresholds_from_slo_mapping(block, source=f"{source}:{proto}")


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
    for section in ("metrics", "pushMetrics"):
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
            message = "" if passed else f"observed {_fmt(observed)}, want {th.op} {_fmt(th.value)}"
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
        obs = "n/a" if v.observed is None else _fmt(round(v.observed, 6))
        tail = f"  ({v.message})" if v.message and not v.passed else ""
        lines.append(f"  {mark}  {v.threshold:<32} observed {obs}{tail}")
    return "\n".join(lines)


def collect_thresholds(
    *,
    validation: Any = None,
    slo_file: str | Path | None = None,
    protocol: str | None = None,
    extra: Iterable[str] = (),
    use_defaults: bool = False,
) -> list[Threshold]:
    """Every threshold a run is judged against, parsed up front (call it BEFORE the run).

    Sources, in order: the scenario's ``validation`` block, an SLO file (per-protocol or
    flat), ``extra`` expressions (e.g. repeated ``--threshold`` options) and, when
    ``use_defaults`` is set and nothing else gave a threshold, seed 002's defaults for
    ``protocol``.  Raises :class:`ThresholdError` on any bad expression or unknown metric.
    """
    out = thresholds_from_validation(validation)
    if slo_file is not None:
        out.extend(load_slo_file(slo_file, protocol))
    out.extend(parse_thresholds(extra, source="cli"))
    if use_defaults and not out and protocol is not None:
        out.extend(default_slo_thresholds(protocol))
    return out
