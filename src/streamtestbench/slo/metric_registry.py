"""The metrics a threshold can name, and where each one is read from a results document."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Results = Mapping[str, Any]

Kind = Literal["latency", "rate", "count", "qps"]


@dataclass(frozen=True)
class MetricDef:
    name: str
    kind: Kind
    description: str
    # results document (or one stage / named-metric block) -> value; None when absent
    top: Callable[[Results], float | None] | None
    scoped: Callable[[Results], float | None] | None = None  # for {stage:..} and NAME.metric


def as_number(value: Any) -> float | None:
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
        return as_number(cur)

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


HTTP_OUTCOMES = ("2xx", "3xx", "4xx", "5xx")


def _http_class_rate(outcome: str) -> Callable[[Results], float | None]:
    """Share of HTTP requests that ended in ``outcome`` (a status class, or a timeout), as seed 004 sets targets."""

    def get(doc: Results) -> float | None:
        classes = doc.get("httpStatusClasses")
        counters = doc.get("counters")
        if not isinstance(classes, Mapping) or not isinstance(counters, Mapping):
            return None
        no_response = sum(int(counters.get(f"http.{kind}", 0)) for kind in ("timeout", "connection_error"))
        requests = sum(int(classes.get(name, 0)) for name in HTTP_OUTCOMES) + no_response
        if requests == 0:
            return None
        hits = counters.get("http.timeout", 0) if outcome == "timeout" else classes.get(outcome, 0)
        return int(hits) / requests

    return get


def _delivery_count(key: str, push_key: str | None) -> Callable[[Results], float | None]:
    """A delivery counter, plus the matching count from server pushes (broadcast ``seq`` gaps)."""

    def get(doc: Results) -> float | None:
        delivery = doc.get("delivery")
        if not isinstance(delivery, Mapping):
            return None
        pushes = doc.get("pushMetrics")
        from_pushes = pushes.get(push_key, 0) if push_key and isinstance(pushes, Mapping) else 0
        return float(int(delivery.get(key, 0)) + int(from_pushes))

    return get


def _scoped_total(doc: Results) -> float | None:
    # stages say totalMessages/failedMessages; named metrics say total/failed
    return as_number(doc.get("totalMessages", doc.get("total")))


def _scoped_failed(doc: Results) -> float | None:
    return as_number(doc.get("failedMessages", doc.get("failed")))


def _scoped_ok(doc: Results) -> float | None:
    return as_number(doc.get("successfulMessages", doc.get("successful")))


def _top_success_rate(doc: Results) -> float | None:
    total, ok = as_number(doc.get("totalMessages")), as_number(doc.get("successfulMessages"))
    if total is not None and ok is not None:
        return ok / total if total > 0 else 1.0
    err = as_number(doc.get("errorRate"))
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
    for outcome in (*HTTP_OUTCOMES, "timeout"):
        add(MetricDef(f"http_{outcome}_rate", "rate", f"HTTP requests ending in {outcome} / all HTTP requests (0..1)",
                      _http_class_rate(outcome)))
    add(MetricDef("delivery_lost", "count", "messages never delivered: sequence gaps of brokers and broadcasts",
                  _delivery_count("lost", "gaps")))
    add(MetricDef("delivery_duplicates", "count", "messages delivered more than once",
                  _delivery_count("duplicates", None)))
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
