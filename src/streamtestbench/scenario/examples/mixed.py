"""A MIXED scenario: WebSocket, MQTT and HTTP user groups with weights."""

from __future__ import annotations

from typing import Any

from ._shared import BASE_URL, BEARER, MQTT_URL, WS_URL

MIXED_PROTOCOLS: dict[str, Any] = {
    "name": "Mixed Protocols",
    "description": (
        "50 connections shared 3:1:1 between WebSocket sync clients, MQTT publishers and "
        "HTTP API users, with a 10 s ramp-up and 5 s ramp-down."
    ),
    "protocol": "MIXED",
    "duration_seconds": 60,
    "connections": 50,
    "rates": {"messagesPerSecond": 2.0, "rampUpSeconds": 10, "rampDownSeconds": 5},
    "groups": [
        {"name": "websocket", "weight": 3, "protocol": "WEBSOCKET", "endpoint": WS_URL,
         "payloads": ["VOICE_DATA", "SESSION_DATA"], "authentication": BEARER},
        {"name": "mqtt", "weight": 1, "protocol": "MQTT", "endpoint": MQTT_URL,
         "payloads": ["METRICS"], "mqtt": {"qos": 1}, "rates": {"messagesPerSecond": 5.0}},
        {"name": "http", "weight": 1, "protocol": "HTTP", "endpoint": BASE_URL,
         "flow": [{"get": {"url": "/api/v1/users", "check": [{"status": 200}]}}, {"think": 2}]},
    ],
    "validation": {"maxErrorRate": 0.01, "maxP95LatencyMs": 200},
}
