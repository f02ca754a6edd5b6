"""Seed 003: agent-message tests, the communication flow and Artillery phases."""

from __future__ import annotations

from typing import Any

from ._shared import WS_URL, agent_message, communication_flow


def _seed003(name: str, connections: int, messages: int, arrival_seconds: int) -> dict[str, Any]:
    return {
        "name": f"Agents {name} Test",
        "description": (
            f"Seed 003 {name.lower()} stress test: $CONNECTIONS connections (default {connections}) "
            f"each send $MESSAGES agent messages (default {messages}) and wait for each response. "
            "Override: CONNECTIONS=250 MESSAGES=30 streamtestbench run ..."
        ),
        "protocol": "WEBSOCKET",
        "endpoint": WS_URL,
        "phases": [
            {"name": "connect", "duration": arrival_seconds,
             "arrivalCount": f"${{CONNECTIONS:-{connections}}}"},
        ],
        "flow": [
            {"connect": {}},
            {"loop": {"count": f"${{MESSAGES:-{messages}}}", "steps": [agent_message()]}},
            {"disconnect": True},
        ],
        "validation": {"minSuccessRate": 0.95, "maxP95LatencyMs": 50, "maxP99LatencyMs": 100},
    }


AGENTS_QUICK = _seed003("Quick", 100, 10, 10)
AGENTS_MEDIUM = _seed003("Medium", 500, 20, 20)
AGENTS_HEAVY = _seed003("Heavy", 1000, 50, 30)

AGENTS_FLOW: dict[str, Any] = {
    "name": "Agents Communication Flow",
    "description": (
        "Seed 003's WebSocket communication flow: connect, subscribe to agents and metrics, "
        "20 x (ping -> pong, think 5 s, agent_message -> agent_response, think 3 s), "
        "unsubscribe from agents, disconnect gracefully. 10 users for 3 minutes."
    ),
    "protocol": "WEBSOCKET",
    "endpoint": WS_URL,
    "duration_seconds": 180,
    "connections": 10,
    "flow": communication_flow(20, 5, 3),
    "validation": {"minSuccessRate": 0.99, "maxP95LatencyMs": 50, "maxP99LatencyMs": 100},
}

ARTILLERY_QUICK: dict[str, Any] = {
    "name": "Artillery Quick (local)",
    "description": (
        "Seed 003's artillery-quick run scaled for a laptop: 10 s of arrivals ramping 5 -> 20 "
        "users/s, each running the communication flow with 2 loops and 1 s think times."
    ),
    "protocol": "WEBSOCKET",
    "endpoint": WS_URL,
    "phases": [{"name": "Quick", "duration": 10, "arrivalRate": 5, "rampTo": 20}],
    "flow": communication_flow(2, 1, 1),
    "validation": {"maxErrorRate": 0.01, "maxP95LatencyMs": 50},
}

ARTILLERY_STAGING: dict[str, Any] = {
    "name": "Artillery Full (staging)",
    "description": (
        "Seed 003's artillery-staging phases: warm-up, ramp-up, 30 min sustained, peak, "
        "ramp-down (~44 min). Each user runs the full communication flow."
    ),
    "protocol": "WEBSOCKET",
    "endpoint": WS_URL,
    "phases": [
        {"name": "Warm-up", "duration": 60, "arrivalRate": 10, "rampTo": 100},
        {"name": "Ramp-up", "duration": 300, "arrivalRate": 100, "rampTo": 1000},
        {"name": "Sustained load", "duration": 1800, "arrivalRate": 1000},
        {"name": "Peak load", "duration": 300, "arrivalRate": 1000, "rampTo": 2000},
        {"name": "Ramp-down", "duration": 180, "arrivalRate": 2000, "rampTo": 100},
    ],
    "flow": communication_flow(20, 5, 3),
    "validation": {"minSuccessRate": 0.99, "maxP95LatencyMs": 50, "maxP99LatencyMs": 100},
}
