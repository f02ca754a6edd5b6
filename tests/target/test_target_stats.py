"""Counters, reset baselines and the two renderings (target/stats.py)."""

from __future__ import annotations

from streamtestbench.target.stats import (
    VECTOR_LEN,
    Stats,
    render_prometheus,
    stats_document,
    vector_to_totals,
)


def busy_stats() -> Stats:
    stats = Stats()
    stats.connections_open = 2
    stats.connections_total = 5
    stats.ws_open = 1
    stats.ws_total = 3
    stats.frames_in = 10
    stats.frames_out = 11
    stats.messages_in = 8
    stats.messages_out = 9
    stats.faults_drop = 4
    stats.rate_limited_http = 1
    stats.count_http(200)
    stats.count_http(200)
    stats.count_http(429)
    stats.count_http(418)  # untracked status -> "other"
    stats.rest_requests = 6
    stats.graphql_operations = 7
    stats.graphql_events = 12
    stats.mcp_messages = 2
    return stats


def test_vector_has_a_fixed_shape() -> None:
    assert len(Stats().vector()) == VECTOR_LEN
    totals = vector_to_totals(busy_stats().vector())
    assert totals["frames_in"] == 10 and totals["http_200"] == 2 and totals["http_0"] == 1
    assert totals["http_requests"] == 4


def test_reset_zeroes_counters_but_not_gauges() -> None:
    stats = busy_stats()
    stats.reset()
    totals = vector_to_totals(stats.vector())
    assert totals["connections_open"] == 2 and totals["ws_open"] == 1
    assert totals["frames_in"] == 0 and totals["http_requests"] == 0 and totals["http_200"] == 0
    stats.frames_in += 3
    assert vector_to_totals(stats.vector())["frames_in"] == 3
    assert stats.raw_vector()[len(stats.raw_vector()) - 1] == 1  # the raw totals never go back


def test_stats_document_shape() -> None:
    doc = stats_document(vector_to_totals(busy_stats().vector()), uptime_seconds=1.23456, active_faults=["drop:1"])
    assert doc["connections"] == {"open": 2, "total": 5}
    assert doc["websockets"] == {"open": 1, "total": 3}
    assert doc["frames"] == {"in": 10, "out": 11}
    assert doc["messages"] == {"in": 8, "out": 9}
    assert doc["http"] == {"requests": 4, "byStatus": {"200": 2, "429": 1, "other": 1}}
    assert doc["faults"]["active"] == ["drop:1"] and doc["faults"]["applied"]["drop"] == 4
    assert doc["rateLimited"] == {"ws": 0, "http": 1, "total": 1}
    assert doc["uptimeSeconds"] == 1.235
    assert doc["api"] == {"rest": 6, "graphql": 7, "graphqlEvents": 12, "mcp": 2}


def test_prometheus_exposition() -> None:
    text = render_prometheus(vector_to_totals(busy_stats().vector()), uptime_seconds=2.0)
    lines = text.splitlines()
    assert text.endswith("\n")
    assert "stb_target_connections_open 2" in lines
    assert "stb_target_connections_total 5" in lines
    assert 'stb_target_ws_frames_total{direction="in"} 10' in lines
    assert 'stb_target_ws_messages_total{direction="out"} 9' in lines
    assert 'stb_target_http_requests_total{status="200"} 2' in lines
    assert 'stb_target_faults_applied_total{kind="drop"} 4' in lines
    assert 'stb_target_rate_limited_total{protocol="http"} 1' in lines
    assert 'stb_target_api_requests_total{api="graphql"} 7' in lines
    assert "stb_target_graphql_subscription_events_total 12" in lines
    for line in lines:
        if line.startswith("# TYPE"):
            assert line.split()[-1] in ("gauge", "counter")
        elif not line.startswith("#"):
            name_and_labels, value = line.rsplit(" ", 1)
            float(value)
            assert name_and_labels.startswith("stb_target_")


def test_fast_path_echo_counts_as_one_in_and_one_out() -> None:
    stats = Stats()
    stats.echoed += 3
    stats.frames_in += 1
    totals = vector_to_totals(stats.vector())
    assert (totals["frames_in"], totals["frames_out"]) == (4, 3)
    assert (totals["messages_in"], totals["messages_out"]) == (3, 3)
    stats.reset()
    stats.echoed += 1
    assert vector_to_totals(stats.vector())["messages_out"] == 1
