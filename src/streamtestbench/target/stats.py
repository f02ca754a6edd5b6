"""Exact traffic counters and their two renderings, /stats JSON and Prometheus text.

The hot path only does ``stats.frames_in += 1`` on a slotted object. Everything else (reset,
aggregation across workers, rendering) works on a flat vector of integers, so the same code serves
one process or several sharing memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "COUNTERS",
    "GAUGES",
    "TRACKED_STATUSES",
    "VECTOR_LEN",
    "Stats",
    "render_prometheus",
    "stats_document",
    "vector_to_totals",
]

GAUGES: tuple[str, ...] = ("connections_open", "ws_open")
COUNTERS: tuple[str, ...] = (
    "connections_total",
    "ws_total",
    "frames_in",
    "frames_out",
    "messages_in",
    "messages_out",
    "http_requests",
    "faults_stall",
    "faults_slow",
    "faults_drop",
    "faults_reset",
    "rate_limited_ws",
    "rate_limited_http",
    "broadcasts",
    "rest_requests",
    "graphql_operations",
    "graphql_events",
    "mcp_messages",
)
# HTTP statuses get fixed slots so the vector has one shape in every worker; the rest count as 0.
TRACKED_STATUSES: tuple[int, ...] = (
    101, 200, 201, 204, 400, 401, 403, 404, 405, 408, 409, 413, 422, 429, 431, 500, 503, 0,
)
_STATUS_INDEX = {status: i for i, status in enumerate(TRACKED_STATUSES)}
_ECHO_FOLDED = frozenset({"frames_in", "frames_out", "messages_in", "messages_out"})
_OTHER_STATUS = len(TRACKED_STATUSES) - 1
VECTOR_LEN = len(GAUGES) + len(COUNTERS) + len(TRACKED_STATUSES)


class Stats:
    """One process's live counters. Increment the attributes directly; they only ever grow
    (gauges aside), and :meth:`reset` moves a baseline instead of zeroing, so concurrent readers
    in other workers never see a counter go backwards mid-read."""

    __slots__ = (*GAUGES, *COUNTERS, "_baseline", "echoed", "http_status")

    connections_open: int
    ws_open: int
    connections_total: int
    ws_total: int
    frames_in: int
    frames_out: int
    messages_in: int
    messages_out: int
    http_requests: int
    faults_stall: int
    faults_slow: int
    faults_drop: int
    faults_reset: int
    rate_limited_ws: int
    rate_limited_http: int
    broadcasts: int
    rest_requests: int
    graphql_operations: int
    graphql_events: int
    mcp_messages: int

    def __init__(self) -> None:
        for name in GAUGES + COUNTERS:
            setattr(self, name, 0)
        # The echo fast path's one increment: a data message in and its echo out, i.e. +1 to
        # frames_in, frames_out, messages_in and messages_out (folded in by raw_vector).
        self.echoed = 0
        self.http_status = [0] * len(TRACKED_STATUSES)
        self._baseline = [0] * VECTOR_LEN

    def count_http(self, status: int) -> None:
        self.http_requests += 1
        self.http_status[_STATUS_INDEX.get(status, _OTHER_STATUS)] += 1

    def raw_vector(self) -> list[int]:
        """All values since start, in the fixed order GAUGES + COUNTERS + TRACKED_STATUSES."""
        values = [getattr(self, name) for name in GAUGES]
        echoed = self.echoed
        values.extend(getattr(self, name) + (echoed if name in _ECHO_FOLDED else 0) for name in COUNTERS)
        values.extend(self.http_status)
        return values

    def vector(self) -> list[int]:
        """Like :meth:`raw_vector` but counted from the last reset (gauges are never reset)."""
        return subtract_baseline(self.raw_vector(), self._baseline)

    def reset(self, raw: Sequence[int] | None = None) -> None:
        """Start counting from now; ``raw`` lets a multi-worker hub pass the summed vector."""
        self._baseline = list(self.raw_vector() if raw is None else raw)

    @property
    def baseline(self) -> list[int]:
        return list(self._baseline)


def subtract_baseline(raw: Sequence[int], baseline: Sequence[int]) -> list[int]:
    """Counters minus the baseline; gauges pass through untouched."""
    n_gauges = len(GAUGES)
    return [v if i < n_gauges else v - baseline[i] for i, v in enumerate(raw)]


def vector_to_totals(vector: Sequence[int]) -> dict[str, int]:
    """Name every slot of a vector: counters by name, statuses as ``http_<code>``."""
    names = [*GAUGES, *COUNTERS, *(f"http_{s}" for s in TRACKED_STATUSES)]
    return dict(zip(names, vector, strict=True))


def _status_counts(totals: Mapping[str, int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in TRACKED_STATUSES:
        value = totals[f"http_{status}"]
        if value:
            counts["other" if status == 0 else str(status)] = value
    return counts


def stats_document(
    totals: Mapping[str, int],
    *,
    uptime_seconds: float,
    active_faults: Sequence[str] = (),
    workers: int = 1,
) -> dict[str, Any]:
    """The /stats JSON body; field names are camelCase like the rest of the target's HTTP API."""
    return {
        "uptimeSeconds": round(uptime_seconds, 3),
        "workers": workers,
        "connections": {"open": totals["connections_open"], "total": totals["connections_total"]},
        "websockets": {"open": totals["ws_open"], "total": totals["ws_total"]},
        "frames": {"in": totals["frames_in"], "out": totals["frames_out"]},
        "messages": {"in": totals["messages_in"], "out": totals["messages_out"]},
        "broadcasts": totals["broadcasts"],
        "http": {"requests": totals["http_requests"], "byStatus": _status_counts(totals)},
        "faults": {
            "active": list(active_faults),
            "applied": {
                "stall": totals["faults_stall"],
                "slow": totals["faults_slow"],
                "drop": totals["faults_drop"],
                "reset": totals["faults_reset"],
            },
        },
        "rateLimited": {
            "ws": totals["rate_limited_ws"],
            "http": totals["rate_limited_http"],
            "total": totals["rate_limited_ws"] + totals["rate_limited_http"],
        },
        "api": {
            "rest": totals["rest_requests"],
            "graphql": totals["graphql_operations"],
            "graphqlEvents": totals["graphql_events"],
            "mcp": totals["mcp_messages"],
        },
    }


def render_prometheus(totals: Mapping[str, int], *, uptime_seconds: float) -> str:
    """Prometheus text exposition format 0.0.4 of the same numbers."""
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: Sequence[tuple[str, int | float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{labels} {value}")

    metric("stb_target_uptime_seconds", "gauge", "Seconds since the target started.",
           [("", round(uptime_seconds, 3))])
    metric("stb_target_connections_open", "gauge", "Open TCP connections (HTTP and WebSocket).",
           [("", totals["connections_open"])])
    metric("stb_target_connections_total", "counter", "TCP connections accepted.",
           [("", totals["connections_total"])])
    metric("stb_target_websockets_open", "gauge", "Open WebSocket sessions.", [("", totals["ws_open"])])
    metric("stb_target_websockets_total", "counter", "WebSocket sessions established.",
           [("", totals["ws_total"])])
    metric("stb_target_ws_frames_total", "counter", "WebSocket frames, control frames included.",
           [('{direction="in"}', totals["frames_in"]), ('{direction="out"}', totals["frames_out"])])
    metric("stb_target_ws_messages_total", "counter", "WebSocket data messages (text or binary).",
           [('{direction="in"}', totals["messages_in"]), ('{direction="out"}', totals["messages_out"])])
    metric("stb_target_broadcasts_total", "counter", "Broadcast messages published to channels.",
           [("", totals["broadcasts"])])
    metric("stb_target_http_requests_total", "counter", "HTTP requests answered, by status code.",
           [(f'{{status="{code}"}}', n) for code, n in sorted(_status_counts(totals).items())])
    metric("stb_target_faults_applied_total", "counter", "Replies affected by an injected fault.",
           [(f'{{kind="{kind}"}}', totals[f"faults_{kind}"]) for kind in ("stall", "slow", "drop", "reset")])
    metric("stb_target_rate_limited_total", "counter", "Clients refused by the rate limit.",
           [('{protocol="ws"}', totals["rate_limited_ws"]), ('{protocol="http"}', totals["rate_limited_http"])])
    metric("stb_target_api_requests_total", "counter",
           "REST requests, GraphQL operations (HTTP and WebSocket) and MCP JSON-RPC messages.",
           [('{api="rest"}', totals["rest_requests"]), ('{api="graphql"}', totals["graphql_operations"]),
            ('{api="mcp"}', totals["mcp_messages"])])
    metric("stb_target_graphql_subscription_events_total", "counter", "GraphQL subscription events sent.",
           [("", totals["graphql_events"])])
    return "\n".join(lines) + "\n"
