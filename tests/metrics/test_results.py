"""The results document: per-protocol rows for MIXED runs and the grouped counters."""

from __future__ import annotations

from streamtestbench.metrics.aggregate import Aggregator
from streamtestbench.metrics.results import RunInfo, build_results, protocol_of
from streamtestbench.metrics.sample import Outcome
from streamtestbench.metrics.snapshot import Recorder

SEC = 1_000_000_000
MS = 1_000_000


def mixed_results() -> dict[str, object]:
    rec = Recorder(0)
    ws = rec.metric("ws.message")
    http = rec.metric("http.GET /users")
    connect = rec.metric("connect")
    refused = rec.error_code("HTTP 5xx")
    for k in range(30):
        rec.buffer.append(ws, k * MS, k * MS, k * MS + 2 * MS, 10, Outcome.OK, 0)
    for k in range(10):
        failed = k < 2
        rec.buffer.append(http, k * MS, k * MS, k * MS + 8 * MS, 10, Outcome.FAILED if failed else Outcome.OK,
                          refused if failed else 0)
    rec.buffer.append(connect, 0, 0, 5 * MS, 0, Outcome.OK, 0)
    rec.counters.named.update({"http.status.2xx": 8, "http.status.5xx": 2, "injected.duplicate": 4,
                               "delivery.lost": 1})
    aggregator = Aggregator()
    aggregator.add(rec.snapshot(0, 0, SEC, final=True))
    return build_results(aggregator, RunInfo("mix", "MIXED", 0, 1000, "completed", 1))


def test_protocol_is_the_metric_name_before_its_first_dot() -> None:
    assert protocol_of("http.GET /a.b") == "http"
    assert protocol_of("mqtt.publish") == "mqtt"
    assert protocol_of("plain") == "other"


def test_a_mixed_run_reports_each_protocol_and_the_combined_totals() -> None:
    results = mixed_results()
    protocols = results["protocols"]
    assert isinstance(protocols, dict)
    assert set(protocols) == {"ws", "http"}  # connect is not a message
    assert (protocols["ws"]["totalMessages"], protocols["ws"]["failedMessages"]) == (30, 0)
    assert (protocols["http"]["totalMessages"], protocols["http"]["failedMessages"]) == (10, 2)
    assert protocols["http"]["errorRate"] == 0.2
    assert protocols["ws"]["latencyMs"]["p50"] < protocols["http"]["latencyMs"]["p50"]
    assert results["totalMessages"] == 40 and results["failedMessages"] == 2


def test_status_classes_injections_and_delivery_counters_are_grouped() -> None:
    results = mixed_results()
    assert results["httpStatusClasses"] == {"2xx": 8, "5xx": 2}
    assert results["injectedFailures"] == {"duplicate": 4}
    assert results["delivery"] == {"lost": 1}
