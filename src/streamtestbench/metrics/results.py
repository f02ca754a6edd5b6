"""Build the results document (seed 000's fields and more) from the aggregated snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .aggregate import Aggregator, Totals
from .hdr import HdrHistogram, merge_all
from .names import CONNECT, FIRST_MESSAGE, PUSH_PREFIX, is_message
from .sample import MetricKey, Outcome
from .snapshot import MetricStats

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)


@dataclass(frozen=True)
class RunInfo:
    scenario_name: str
    protocol: str
    start_epoch_ms: int
    end_epoch_ms: int
    status: str
    """completed, interrupted (Ctrl-C/SIGTERM), or aborted (nothing could connect, a worker died)."""
    workers: int
    lost_workers: tuple[int, ...] = ()
    planned_seconds: float = 0.0


def is_message_metric(key: MetricKey) -> bool:
    return is_message(key.name)


def _ms(value_us: float) -> float:
    return round(value_us / 1000.0, 3)


def latency_block(histogram: HdrHistogram | None) -> dict[str, float]:
    """Mean, min, max and percentiles in milliseconds (zeros when nothing was measured)."""
    if histogram is None or histogram.total_count == 0:
        return {"avg": 0.0, "min": 0.0, "max": 0.0, **{_pname(p): 0.0 for p in PERCENTILES}}
    values = histogram.percentiles(PERCENTILES)
    return {
        "avg": _ms(histogram.mean()),
        "min": _ms(histogram.min()),
        "max": _ms(histogram.max()),
        **{_pname(p): _ms(values[p]) for p in PERCENTILES},
    }


def _pname(percentile: float) -> str:
    return f"p{percentile:g}".replace(".", "")


def _merged(stats: list[MetricStats], corrected: bool) -> HdrHistogram | None:
    histograms = [s.corrected if corrected else s.uncorrected for s in stats]
    return merge_all(histograms) if histograms else None


def _by_name(totals: Totals, predicate: Any) -> dict[str, list[MetricStats]]:
    grouped: dict[str, list[MetricStats]] = {}
    for key, stats in totals.metrics.items():
        if predicate(key):
            grouped.setdefault(key.name, []).append(stats)
    return grouped


def _outcomes(stats: list[MetricStats]) -> tuple[int, int, int]:
    ok = sum(s.count(Outcome.OK) for s in stats)
    failed = sum(s.count(Outcome.FAILED) + s.count(Outcome.TIMEOUT) for s in stats)
    return ok + failed, ok, failed


def protocol_of(name: str) -> str:
    """The protocol a message metric belongs to: the part of its name before the first dot."""
    return name.split(".", 1)[0] if "." in name else "other"


def _protocol_rows(totals: Totals, duration_s: float) -> dict[str, dict[str, Any]]:
    """Totals and latency per protocol, so a MIXED run reads per protocol as well as combined."""
    grouped: dict[str, list[MetricStats]] = {}
    for key, stats in totals.metrics.items():
        if is_message_metric(key):
            grouped.setdefault(protocol_of(key.name), []).append(stats)
    rows = {}
    for protocol, group in sorted(grouped.items()):
        total, ok, failed = _outcomes(group)
        rows[protocol] = {
            "totalMessages": total,
            "successfulMessages": ok,
            "failedMessages": failed,
            "errorRate": round(failed / total, 6) if total else 0.0,
            "throughputQps": round(ok / duration_s, 3),
            "latencyMs": latency_block(_merged(group, True)),
        }
    return rows


def _counter_group(named: dict[str, int], prefix: str) -> dict[str, int]:
    """Counters under one prefix with the prefix removed: ``injected.duplicate`` -> ``duplicate``."""
    return {name[len(prefix):]: value for name, value in sorted(named.items()) if name.startswith(prefix)}


def _stage_rows(totals: Totals) -> list[dict[str, Any]]:
    stages: dict[str, list[MetricStats]] = {}
    for key, stats in totals.metrics.items():
        if is_message_metric(key):
            stages.setdefault(key.tag_dict().get("stage", ""), []).append(stats)
    rows = []
    for name, group in stages.items():
        total, ok, failed = _outcomes(group)
        corrected = latency_block(_merged(group, True))
        rows.append(
            {
                "name": name,
                "totalMessages": total,
                "successfulMessages": ok,
                "failedMessages": failed,
                "latencyMs": corrected,
                "uncorrectedLatencyMs": latency_block(_merged(group, False)),
            }
        )
    return rows


def build_results(aggregator: Aggregator, info: RunInfo) -> dict[str, Any]:
    totals = aggregator.totals
    counters = totals.counters
    duration_s = max((info.end_epoch_ms - info.start_epoch_ms) / 1000.0, 1e-9)
    message_stats = [s for key, s in totals.metrics.items() if is_message_metric(key)]
    total, ok, failed = _outcomes(message_stats)
    corrected_hist = _merged(message_stats, True)
    uncorrected_hist = _merged(message_stats, False)
    corrected = latency_block(corrected_hist)
    uncorrected = latency_block(uncorrected_hist)
    connect = _by_name(totals, lambda k: k.name == CONNECT).get(CONNECT, [])
    first = _by_name(totals, lambda k: k.name == FIRST_MESSAGE).get(FIRST_MESSAGE, [])
    pushes = _by_name(totals, lambda k: k.name.startswith(PUSH_PREFIX))
    errors = totals.errors_by_kind()
    per_metric = {}
    for name, stats in _by_name(totals, is_message_metric).items():
        m_total, m_ok, m_failed = _outcomes(stats)
        per_metric[name] = {
            "total": m_total,
            "successful": m_ok,
            "failed": m_failed,
            "latencyMs": latency_block(_merged(stats, True)),
            "uncorrectedLatencyMs": latency_block(_merged(stats, False)),
        }
    return {
        "scenarioName": info.scenario_name,
        "protocol": info.protocol,
        "status": info.status,
        "startTime": info.start_epoch_ms,
        "endTime": info.end_epoch_ms,
        "durationSeconds": round(duration_s, 3),
        "plannedSeconds": info.planned_seconds,
        "totalMessages": total,
        "successfulMessages": ok,
        "failedMessages": failed,
        "averageLatencyMs": corrected["avg"],
        "p50LatencyMs": corrected["p50"],
        "p90LatencyMs": corrected["p90"],
        "p95LatencyMs": corrected["p95"],
        "p99LatencyMs": corrected["p99"],
        "p999LatencyMs": corrected["p999"],
        "minLatencyMs": corrected["min"],
        "maxLatencyMs": corrected["max"],
        "uncorrectedLatencyMs": uncorrected,
        "throughputQps": round(ok / duration_s, 3),
        "errorRate": round(failed / total, 6) if total else (1.0 if counters.connections_failed else 0.0),
        "anomaliesDetected": 0,
        "droppedIterations": counters.dropped_iterations,
        "connectionMetrics": {
            "totalConnections": counters.connections_attempted,
            "successfulConnections": counters.connections_opened,
            "failedConnections": counters.connections_failed,
            "closedConnections": counters.connections_closed,
            "reconnects": counters.reconnects,
            "connectionsPerSecond": round(counters.connections_opened / duration_s, 3),
            "connectTimeMs": latency_block(_merged(connect, False)),
            "timeToFirstMessageMs": latency_block(_merged(first, False)),
        },
        "messageMetrics": {
            "messagesSent": counters.messages_sent,
            "messagesReceived": counters.messages_received,
            "messagesPerSecond": round((counters.messages_sent + counters.messages_received) / duration_s, 3),
        },
        "pushMetrics": {
            name[len(PUSH_PREFIX) :]: {
                "received": sum(s.count() for s in stats),
                "latencyMs": latency_block(_merged(stats, False)),
            }
            for name, stats in pushes.items()
        }
        | (
            {"gaps": counters.named.get("push_gaps", 0), "reordered": counters.named.get("push_reordered", 0)}
            if pushes
            else {}
        ),
        "errors": [{"kind": kind, "count": count} for kind, count in sorted(errors.items(), key=lambda kv: -kv[1])],
        "counters": dict(counters.named),
        "protocols": _protocol_rows(totals, duration_s),
        "httpStatusClasses": _counter_group(counters.named, "http.status."),
        "injectedFailures": _counter_group(counters.named, "injected."),
        "delivery": _counter_group(counters.named, "delivery."),
        "metrics": per_metric,
        "stages": _stage_rows(totals),
        "timeSeries": [interval.to_dict() for interval in aggregator.series()],
        "histograms": {
            "messages": {
                "corrected": corrected_hist.encode() if corrected_hist else None,
                "uncorrected": uncorrected_hist.encode() if uncorrected_hist else None,
                "unit": "us",
            },
        },
        "workers": {"count": info.workers, "lost": list(info.lost_workers)},
    }
