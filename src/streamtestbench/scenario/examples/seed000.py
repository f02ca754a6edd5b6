"""Seed 000: its two example scenarios verbatim and its Basic Structure filled in."""

from __future__ import annotations

from typing import Any

MOBILE_SYNC_TEST: dict[str, Any] = {
    "name": "Mobile Sync Test",
    "protocol": "WEBSOCKET",
    "endpoint": "localhost:8000/ws/mobile/sync/",
    "duration_seconds": 300,
    "connections": 50,
    "rates": {"messagesPerSecond": 15.0, "burstMultiplier": 2.5},
    "payloads": ["VOICE_DATA", "BEHAVIORAL_DATA", "SESSION_DATA"],
}
"""Seed 000's "WebSocket Mobile Sync" example, verbatim."""

MQTT_GRAPHQL_LOAD: dict[str, Any] = {
    "name": "MQTT GraphQL Load",
    "protocol": "MQTT",
    "endpoint": "localhost:1883",
    "duration_seconds": 180,
    "connections": 20,
    "rates": {"messagesPerSecond": 8.0},
    "payloads": ["BEHAVIORAL_DATA", "METRICS"],
}
"""Seed 000's "MQTT GraphQL Processing" example, verbatim."""

BASIC_STRUCTURE: dict[str, Any] = {
    "name": "Test Scenario",
    "description": "Description of the test",
    "protocol": "WEBSOCKET",
    "endpoint": "localhost:8000/ws/mobile/sync/",
    "duration_seconds": 300,
    "connections": 50,
    "rates": {
        "messagesPerSecond": 10.0,
        "burstMultiplier": 2.0,
        "rampUpSeconds": 30,
        "rampDownSeconds": 30,
    },
    "payloads": ["VOICE_DATA", "BEHAVIORAL_DATA", "METRICS"],
    "failureInjection": {
        "enabled": True,
        "networkDelays": {
            "enabled": True,
            "rangeMs": {"start": 50, "endInclusive": 500},
            "probability": 0.05,
        },
        "duplicateMessages": {"probability": 0.01, "maxDuplicates": 3},
        "schemaDrift": {
            "probability": 0.001,
            "mutations": [{"type": "ADD_FIELD", "fieldPath": "extra_field", "newValue": "test_value"}],
        },
        "connectionDrops": {"probability": 0.001, "reconnectDelayMs": 1000},
    },
    "authentication": {"type": "BEARER_TOKEN", "credentials": {"token": "your_bearer_token"}},
    "validation": {
        "maxErrorRate": 0.01,
        "maxP95LatencyMs": 100,
        "maxP99LatencyMs": 200,
        "minThroughputQps": 40,
    },
}
"""Seed 000's "Basic Structure" with its ``{ ... }`` blocks filled from the seed's own sections."""
