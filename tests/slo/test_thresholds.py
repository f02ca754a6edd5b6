"""Threshold expressions: parsing, unknown-metric errors, evaluation, SLO sources, exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamtestbench.exit_codes import PASSED, SLO_FAILED
from streamtestbench.scenario.validation import Validation
from streamtestbench.slo.slo_sources import (
    collect_thresholds,
    default_slo_thresholds,
    load_slo_file,
    thresholds_from_validation,
)
from streamtestbench.slo.thresholds import (
    ThresholdError,
    evaluate,
    exit_code,
    parse_threshold,
    render_verdicts,
    verdicts_to_json,
)

FIXTURE = Path(__file__).parent / "fixtures" / "demo_results.json"


def _lat(p50: float, p95: float, p99: float, mx: float = 50.0) -> dict[str, float]:
    return {"avg": p50 * 1.1, "min": 0.1, "max": mx, "p50": p50, "p90": p95 * 0.8, "p95": p95, "p99": p99, "p999": mx}


SYNTH: dict[str, Any] = {
    "protocol": "WEBSOCKET",
    "totalMessages": 1000,
    "successfulMessages": 990,
    "failedMessages": 10,
    "averageLatencyMs": 4.0,
    "p50LatencyMs": 3.0,
    "p90LatencyMs": 20.0,
    "p95LatencyMs": 40.0,
    "p99LatencyMs": 150.0,
    "p999LatencyMs": 300.0,
    "minLatencyMs": 0.5,
    "maxLatencyMs": 400.0,
    "uncorrectedLatencyMs": _lat(2.5, 30.0, 120.0, 390.0),
    "throughputQps": 55.5,
    "errorRate": 0.01,
    "droppedIterations": 3,
    "connectionMetrics": {
        "totalConnections": 10,
        "successfulConnections": 9,
        "failedConnections": 1,
        "reconnects": 2,
        "connectTimeMs": _lat(1.0, 4.0, 9.0),
    },
    "messageMetrics": {"messagesSent": 1000, "messagesReceived": 1500},
    "metrics": {
        "ws.ping": {"total": 500, "successful": 495, "failed": 5, "latencyMs": _lat(2.0, 30.0, 90.0)},
        "ws.agent_message": {"total": 500, "successful": 500, "failed": 0, "latencyMs": _lat(4.0, 60.0, 250.0)},
    },
    "pushMetrics": {"ws.broadcast": {"received": 10, "latencyMs": _lat(5.0, 7.0, 8.0)}},
    "stages": [
        {"name": "ramp", "totalMessages": 300, "successfulMessages": 290, "failedMessages": 10,
         "latencyMs": _lat(2.0, 20.0, 80.0)},
        {"name": "steady", "totalMessages": 700, "successfulMessages": 700, "failedMessages": 0,
         "latencyMs": _lat(3.0, 50.0, 180.0)},
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "observed", "passed"),
    [
        ("p95 < 100", 40.0, True),
        ("p95 < 40", 40.0, False),
        ("p95 <= 40", 40.0, True),
        ("p(95) < 0.1s", 40.0, True),
        ("p99 < 100ms", 150.0, False),
        ("p99.9 < 301", 300.0, True),
        ("p999 > 299", 300.0, True),
        ("avg <= 5", 4.0, True),
        ("max < 400", 400.0, False),
        ("min >= 0.5", 0.5, True),
        ("uncorrected_p95 < 35", 30.0, True),
        ("error_rate < 0.01", 0.01, False),
        ("error_rate <= 1%", 0.01, True),
        ("success_rate >= 0.99", 0.99, True),
        ("throughput >= 50", 55.5, True),
        ("qps > 60", 55.5, False),
        ("dropped_iterations == 0", 3.0, False),
        ("connections_failed < 2", 1.0, True),
        ("connection_success_rate >= 90%", 0.9, True),
        ("connect_p95 < 5", 4.0, True),
        ("messages_sent >= 1000", 1000.0, True),
        ("messages_received != 0", 1500.0, True),
        ("reconnects <= 1", 2.0, False),
        ("p99{stage:steady} < 200", 180.0, True),
        ("p95{stage: ramp} < 10", 20.0, False),
        ("error_rate{stage:ramp} < 0.05", 10 / 300, True),
        ("ws.ping.p95 < 50", 30.0, True),
        ("ws.agent_message.p99 < 200", 250.0, False),
        ("ws.ping.error_rate <= 0.01", 0.01, True),
        ("ws.broadcast.p95 < 10", 7.0, True),
        ("warning: p95 < 50", 40.0, True),
        ("critical: p95 < 200", 40.0, True),
    ],
)
def test_evaluate_table(text: str, observed: float, passed: bool) -> None:
    (verdict,) = evaluate([parse_threshold(text)], SYNTH)
    assert verdict.observed == pytest.approx(observed)
    assert verdict.passed is passed
    assert verdict.threshold == text


@pytest.mark.parametrize(
    ("text", "metric", "op", "value", "level", "name", "stage"),
    [
        ("p95 < 100", "p95", "<", 100.0, "error", None, None),
        ("warning: p95 < 50", "p95", "<", 50.0, "warning", None, None),
        ("critical: p95<200", "p95", "<", 200.0, "critical", None, None),
        ("p99{stage:steady} < 200", "p99", "<", 200.0, "error", None, "steady"),
        ("ws.ping.p95 < 50", "p95", "<", 50.0, "error", "ws.ping", None),
        ("ws.ping.p99.9 < 50", "p99.9", "<", 50.0, "error", "ws.ping", None),
        ("error_rate < 1%", "error_rate", "<", 0.01, "error", None, None),
        ("p95 < 2s", "p95", "<", 2000.0, "error", None, None),
        ("throughput >= 5e1", "throughput", ">=", 50.0, "error", None, None),
    ],
)
def test_parse(text: str, metric: str, op: str, value: float, level: str, name: str | None, stage: str | None) -> None:
    th = parse_threshold(text)
    assert (th.metric, th.op, th.level, th.name, th.stage) == (metric, op, level, name, stage)
    assert th.value == pytest.approx(value)


def test_unknown_metric_names_it_and_lists_allowed() -> None:
    with pytest.raises(ThresholdError) as err:
        parse_threshold("p96 < 100")
    msg = str(err.value)
    assert "unknown metric 'p96'" in msg
    for allowed in ("p95", "error_rate", "throughput", "p99.9", "uncorrected_p95", "dropped_iterations"):
        assert allowed in msg


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("latency < 5", "unknown metric 'latency'"),
        ("ws.ping.bogus < 5", "unknown metric 'ws.ping.bogus'"),
        ("p95 100", "cannot parse threshold"),
        ("p95 < fast", "cannot parse threshold"),
        ("", "empty threshold"),
        ("throughput{stage:steady} > 5", "not available per stage"),
        ("error_rate < 5ms", "only applies to latency"),
        ("p95 < 5%", "only applies to rate"),
        ("fatal: p95 < 5", "unknown level 'fatal'"),
    ],
)
def test_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(ThresholdError, match=None) as err:
        parse_threshold(text)
    assert fragment in str(err.value)


def test_missing_scope_fails_with_message() -> None:
    verdicts = evaluate([parse_threshold("p95{stage:nope} < 1"), parse_threshold("ws.nope.p95 < 1")], SYNTH)
    assert [v.passed for v in verdicts] == [False, False]
    assert "no stage 'nope'" in verdicts[0].message and "ramp, steady" in verdicts[0].message
    assert "no metric named 'ws.nope'" in verdicts[1].message and "ws.ping" in verdicts[1].message
    assert all(v.observed is None for v in verdicts)


def test_levels_and_exit_code() -> None:
    warn_fail = evaluate([parse_threshold("warning: p95 < 10"), parse_threshold("critical: p95 < 200")], SYNTH)
    assert [v.passed for v in warn_fail] == [False, True]
    assert exit_code(warn_fail) == PASSED
    doc = verdicts_to_json(warn_fail)
    assert doc["passed"] is True and doc["exitCode"] == 0
    assert doc["counts"] == {"passed": 1, "failed": 0, "warnings": 1}
    crit_fail = evaluate([parse_threshold("critical: p95 < 10")], SYNTH)
    assert exit_code(crit_fail) == SLO_FAILED
    assert verdicts_to_json(crit_fail)["passed"] is False
    json.dumps(verdicts_to_json(warn_fail + crit_fail))  # JSON-ready
    text = render_verdicts(warn_fail + crit_fail)
    assert "WARN" in text and "PASS" in text and "FAIL" in text


def test_from_validation_model_and_dict() -> None:
    v = Validation.model_validate(
        {
            "maxErrorRate": 0.02,
            "maxP95LatencyMs": 50,
            "maxP99LatencyMs": 100,
            "minThroughputQps": 60,
            "minSuccessRate": 0.95,
            "thresholds": ["warning: ws.ping.p95 < 10"],
            "abortOnFail": True,
        }
    )
    ths = thresholds_from_validation(v)
    assert [t.describe() for t in ths] == [
        "error_rate <= 0.02",
        "p95 <= 50",
        "p99 <= 100",
        "throughput >= 60",
        "success_rate >= 0.95",
        "ws.ping.p95 < 10",
    ]
    verdicts = evaluate(ths, SYNTH)
    assert [v.passed for v in verdicts] == [True, True, False, False, True, False]
    assert exit_code(verdicts) == SLO_FAILED
    assert thresholds_from_validation({"max_p95_latency_ms": 10})[0].describe() == "p95 <= 10"
    assert thresholds_from_validation(None) == []
    with pytest.raises(ThresholdError, match="unknown metric 'p42'"):
        thresholds_from_validation({"thresholds": ["p42 < 1"]})
    with pytest.raises(ThresholdError, match="unknown SLO key 'maxP95'"):
        thresholds_from_validation({"maxP95": 1})


def test_default_slos_seed_002() -> None:
    ws = {t.describe() for t in default_slo_thresholds("WEBSOCKET")}
    assert ws == {"error_rate <= 0.01", "p95 <= 100", "throughput >= 10"}
    assert {t.describe() for t in default_slo_thresholds("mqtt")} == {
        "error_rate <= 0.02",
        "p95 <= 200",
        "throughput >= 5",
    }
    assert {t.describe() for t in default_slo_thresholds("http")} == {
        "error_rate <= 0.005",
        "p95 <= 300",
        "throughput >= 20",
    }
    assert default_slo_thresholds("graphql") == []


def test_slo_file_yaml_per_protocol_and_flat_json(tmp_path: Path) -> None:
    yml = tmp_path / "slo.yaml"
    yml.write_text(
        "websocket:\n  max_error_rate: 0.01\n  max_p95_latency_ms: 100\n  min_throughput_qps: 10\n"
        "  thresholds: ['warning: p99 < 100']\nmqtt:\n  max_error_rate: 0.02\n"
    )
    ws = load_slo_file(yml, "WEBSOCKET")
    assert [t.describe() for t in ws] == ["error_rate <= 0.01", "p95 <= 100", "throughput >= 10", "p99 < 100"]
    assert ws[-1].level == "warning"
    assert [t.describe() for t in load_slo_file(yml, "mqtt")] == ["error_rate <= 0.02"]
    assert load_slo_file(yml, "http") == []
    with pytest.raises(ThresholdError, match="name the protocol"):
        load_slo_file(yml)
    js = tmp_path / "slo.json"
    js.write_text(json.dumps({"maxP95LatencyMs": 20, "thresholds": ["p50 < 5"]}))
    assert [t.describe() for t in load_slo_file(js)] == ["p95 <= 20", "p50 < 5"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("websocket:\n  p95: 10\n")
    with pytest.raises(ThresholdError, match="unknown SLO key 'p95'"):
        load_slo_file(bad, "websocket")
    with pytest.raises(ThresholdError, match="cannot read SLO file"):
        load_slo_file(tmp_path / "missing.yaml", "websocket")
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    with pytest.raises(ThresholdError, match="not valid"):
        load_slo_file(broken)


@pytest.mark.parametrize(
    ("text", "observed", "passed"),
    [
        ("p95 < 100", 1.231, True),
        ("p99 < 10", 10.359, False),
        ("uncorrected_p999 < 40", 35.519, True),
        ("error_rate == 0", 0.0, True),
        ("throughput >= 200", 202.542, True),
        ("messages_total == 4079", 4079.0, True),
        ("connections_failed == 0", 0.0, True),
        ("connect_p99 < 20", 24.223, False),
        ("first_message_p95 < 1", 0.495, True),
        ("ws.ping.p95 < 50", 1.604, True),
        ("ws.agent_message.p99.9 < 40", 46.879, False),
        ("ws.subscribe.messages_total == 278", 278.0, True),
        ("p99{stage:stage 2} < 200", 4.215, True),
        ("p99{stage:stage 1} < 20", 22.367, False),
    ],
)
def test_evaluate_recorded_demo_results(text: str, observed: float, passed: bool) -> None:
    results = json.loads(FIXTURE.read_text())
    (verdict,) = evaluate([parse_threshold(text)], results)
    assert verdict.observed == pytest.approx(observed)
    assert verdict.passed is passed


def test_demo_results_meet_websocket_default_slos() -> None:
    results = json.loads(FIXTURE.read_text())
    verdicts = evaluate(default_slo_thresholds(results["protocol"]), results)
    assert all(v.passed for v in verdicts)
    assert exit_code(verdicts) == PASSED


def test_collect_thresholds(tmp_path: Path) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text("websocket:\n  max_p95_latency_ms: 80\n")
    ths = collect_thresholds(
        validation={"maxErrorRate": 0.05}, slo_file=slo, protocol="WEBSOCKET", extra=["warning: p99 < 10"]
    )
    assert [t.source for t in ths] == ["validation", "slo-file:slo.yaml:websocket", "cli"]
    assert [t.describe() for t in ths] == ["error_rate <= 0.05", "p95 <= 80", "p99 < 10"]
    assert {t.describe() for t in collect_thresholds(protocol="mqtt", use_defaults=True)} == {
        "error_rate <= 0.02",
        "p95 <= 200",
        "throughput >= 5",
    }
    assert collect_thresholds(protocol="mqtt") == []
    with pytest.raises(ThresholdError, match="unknown metric 'p42'"):
        collect_thresholds(extra=["p42 < 1"])


@given(
    metric=st.sampled_from(["p50", "p95", "p99.9", "avg", "error_rate", "throughput", "uncorrected_p99"]),
    op=st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
    value=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    level=st.sampled_from(["", "warning: ", "critical: ", "error: "]),
    name=st.sampled_from(["", "ws.ping.", "mqtt.pub."]),
)
def test_describe_round_trips(metric: str, op: str, value: float, level: str, name: str) -> None:
    if name and metric == "throughput":
        return
    th = parse_threshold(f"{level}{name}{metric} {op} {value!r}")
    again = parse_threshold(th.describe())
    assert (again.metric, again.op, again.name, again.stage) == (th.metric, th.op, th.name, th.stage)
    assert again.value == pytest.approx(th.value)
    assert th.level == (level.split(":")[0] or "error")


HTTP_RUN: dict[str, Any] = {
    **SYNTH,
    "httpStatusClasses": {"2xx": 970, "4xx": 20, "5xx": 2},
    "counters": {"http.timeout": 6, "http.connection_error": 2},
    "protocols": {"http": {"totalMessages": 1000, "failedMessages": 30, "latencyMs": _lat(5, 40, 90)},
                  "mqtt": {"totalMessages": 500, "failedMessages": 0, "latencyMs": _lat(1, 3, 8)}},
    "delivery": {"lost": 3, "duplicates": 0},
    "pushMetrics": {"gaps": 2},
}


@pytest.mark.parametrize(
    ("text", "observed", "passed"),
    [
        ("http_4xx_rate<0.01", 0.02, False),  # seed 004: 4xx < 1%
        ("http_5xx_rate<0.001", 0.002, False),  # 5xx < 0.1%
        ("http_timeout_rate<0.005", 0.006, False),  # timeouts < 0.5%
        ("http_2xx_rate>0.95", 0.97, True),
        ("http.p95<50", 40.0, True),  # a protocol's row in a MIXED run
        ("mqtt.error_rate==0", 0.0, True),
        ("delivery_lost==0", 5.0, False),  # broker gaps + broadcast seq gaps
        ("delivery_duplicates==0", 0.0, True),
    ],
)
def test_per_class_per_protocol_and_delivery_thresholds(text: str, observed: float, passed: bool) -> None:
    (verdict,) = evaluate([parse_threshold(text)], HTTP_RUN)
    assert verdict.observed == pytest.approx(observed)
    assert verdict.passed is passed


def test_class_rates_fail_with_a_reason_when_the_run_made_no_http_requests() -> None:
    (verdict,) = evaluate([parse_threshold("http_4xx_rate<0.01")], SYNTH)
    assert verdict.passed is False and verdict.observed is None
