"""MQTT examples: QoS 1 publishing and a publish/subscribe flow."""

from __future__ import annotations

from typing import Any

from ._shared import MQTT_URL

MQTT_QOS1: dict[str, Any] = {
    "name": "MQTT QoS 1 Publish",
    "description": (
        "20 MQTT clients publish metrics with QoS 1 (acknowledged, 16 in flight per client) "
        "to their own topic, 5 messages/s each after a 10 s ramp."
    ),
    "protocol": "MQTT",
    "endpoint": MQTT_URL,
    "duration_seconds": 60,
    "connections": 20,
    "rates": {"messagesPerSecond": 5.0, "rampUpSeconds": 10},
    "payloads": ["METRICS", "BEHAVIORAL_DATA"],
    "mqtt": {
        "topic": "streamtestbench/metrics/${clientId}",
        "qos": 1,
        "cleanSession": True,
        "clientId": "stb-qos1-${vu}",
        "keepaliveSeconds": 30,
        "maxInflight": 16,
    },
    "validation": {"maxErrorRate": 0.001, "maxP95LatencyMs": 50},
}

MQTT_PUBSUB_FLOW: dict[str, Any] = {
    "name": "MQTT Publish and Subscribe",
    "description": (
        "10 MQTT clients (k6 constant-vus) subscribe to the sensor topics and publish "
        "10 readings each at 5/s with QoS 1."
    ),
    "protocol": "MQTT",
    "endpoint": MQTT_URL,
    "executor": {"type": "constant-vus", "vus": 10, "duration": "30s"},
    "mqtt": {"qos": 1, "clientId": "stb-pubsub-${vu}"},
    "flow": [
        {"connect": {}},
        {"subscribe": {"topic": "streamtestbench/sensors/#", "qos": 1}},
        {"publish": {"topic": "streamtestbench/sensors/${clientId}", "payload": "METRICS",
                     "qos": 1, "count": 10, "rate": 5}},
        {"think": 2},
        {"unsubscribe": {"topic": "streamtestbench/sensors/#"}},
        {"disconnect": True},
    ],
    "validation": {"maxErrorRate": 0.001},
}
