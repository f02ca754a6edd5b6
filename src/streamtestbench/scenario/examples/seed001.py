"""Seed 001: the progressive WebSocket tests (quick, medium, stress, 100 -> 1K -> 5K)."""

from __future__ import annotations

from typing import Any

from ._shared import BEARER, WS_URL


def _seed001(name: str, connections: int, ramp: int, sustain: int, interval: int,
             success: float, latency_ms: int, purpose: str) -> dict[str, Any]:
    return {
        "name": f"WebSocket {name} Test",
        "description": (
            f"Seed 001 {name.lower()} test ({purpose}): {connections} connections, {ramp} s ramp + "
            f"{sustain} s sustained, one message every {interval} s per client. "
            f"Expect >= {success:.0%} success and < {latency_ms} ms average latency."
        ),
        "protocol": "WEBSOCKET",
        "endpoint": WS_URL,
        "duration_seconds": ramp + sustain,
        "connections": connections,
        "rates": {"messagesPerSecond": 1 / interval, "rampUpSeconds": ramp},
        "payloads": ["HEARTBEAT"],
        "authentication": BEARER,
        "validation": {"minSuccessRate": success, "thresholds": [f"avg < {latency_ms}"]},
    }


WS_QUICK = _seed001("Quick", 100, 10, 30, 5, 1.0, 5, "development validation and CI/CD")
WS_MEDIUM = _seed001("Medium", 1000, 30, 120, 10, 0.99, 10, "production readiness")
WS_STRESS = _seed001("Stress", 5000, 60, 300, 15, 0.95, 20, "capacity planning and breaking point")

WS_PROGRESSIVE: dict[str, Any] = {
    "name": "WebSocket Progressive Test",
    "description": (
        "Seed 001 progressive test: the quick, medium and stress tests in sequence "
        "(100 -> 1K -> 5K connections) with a cooldown between them; results per step."
    ),
    "protocol": "WEBSOCKET",
    "endpoint": WS_URL,
    "ladder": {
        "steps": [
            {"name": "quick", "connections": 100, "rampUpSeconds": 10, "sustainSeconds": 30,
             "messageIntervalSeconds": 5},
            {"name": "medium", "connections": 1000, "rampUpSeconds": 30, "sustainSeconds": 120,
             "messageIntervalSeconds": 10},
            {"name": "stress", "connections": 5000, "rampUpSeconds": 60, "sustainSeconds": 300,
             "messageIntervalSeconds": 15},
        ],
        "cooldownSeconds": 60,
    },
    "payloads": ["HEARTBEAT"],
    "authentication": BEARER,
    "validation": {"minSuccessRate": 0.95, "thresholds": ["avg < 20"]},
}

FANOUT_NATS: dict[str, Any] = {
    "name": "WebSocket Fan-out via NATS",
    "description": (
        "Seed 001's broadcast pattern end to end: one publisher feeds the NATS subject stb.fanout.ticks at "
        "50 messages/s; the reference target relays it to 1,000 WebSocket clients subscribed to 'ticks'. "
        "Latency is publish -> delivery (from the publisher's stamp); gaps count lost messages. Start the "
        "target relaying the local NATS server: streamtestbench target --broadcast-rate 0 "
        "--nats 127.0.0.1:4222 --relay 'stb.fanout.>'"
    ),
    "protocol": "MIXED",
    "duration_seconds": 30,
    "connections": 1001,
    "groups": [
        {"name": "subscribers", "weight": 1000, "protocol": "WEBSOCKET", "endpoint": WS_URL,
         "flow": [{"connect": {}}, {"subscribe": {"channel": "ticks"}}, {"think": 3600}]},
        {"name": "feed", "weight": 1, "protocol": "NATS", "endpoint": "${NATS_URL:-nats://127.0.0.1:4222}",
         "flow": [{"think": 5},
                  {"publish": {"topic": "stb.fanout.ticks", "json": {"kind": "tick"}, "count": 1000, "rate": 50}}]},
    ],
    "validation": {"thresholds": ["delivery_lost == 0", "ws.broadcast.p99 < 500"]},
}
"""Seed 001's fan-out through a broker: the relay keeps the publisher's time stamp, so latency spans it all."""
