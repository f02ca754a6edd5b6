"""Pieces several example scenarios share: endpoints with environment defaults, auth, seed 003 messages."""

from __future__ import annotations

from typing import Any

WS_URL = "${WS_URL:-ws://127.0.0.1:8000/ws}"
BASE_URL = "${BASE_URL:-http://127.0.0.1:8000}"
MQTT_URL = "${MQTT_URL:-mqtt://127.0.0.1:1883}"

BEARER: dict[str, Any] = {
    "type": "BEARER_TOKEN",
    "credentials": {"token": "${AUTH_TOKEN:-local-dev-token}"},
}
"""Seed 001: a JWT from ``npm run auth:token`` exported as AUTH_TOKEN."""


def login(url: str = "/auth/login") -> dict[str, Any]:
    """Seed 004: POST the load-test user's credentials, use ``tokens.accessToken`` as bearer."""
    return {
        "type": "BEARER_TOKEN",
        "login": {
            "url": url,
            "method": "POST",
            "json": {
                "username": "${LOADTEST_USERNAME:-loadtest}",
                "password": "${LOADTEST_PASSWORD:-loadtestpassword}",
            },
            "tokenPath": "tokens.accessToken",
        },
    }


def ping() -> dict[str, Any]:
    return {"send": {"json": {"type": "ping"}, "expect": {"match": {"type": "pong"}}}}


def agent_message() -> dict[str, Any]:
    """Seed 003's agent message; the server answers with an ``agent_response``."""
    return {
        "send": {
            "json": {
                "type": "agent_message",
                "from": "user_${vu}",
                "to": "agent_${vu}",
                "payload": {"action": "execute", "data": {"test": True}},
            },
            "expect": {"match": {"type": "agent_response"}},
        }
    }


def graceful_disconnect() -> list[dict[str, Any]]:
    """Seed 003: ask the server to let go (``disconnect_ack``), then close the socket."""
    return [
        {"send": {"json": {"type": "disconnect"}, "expect": {"match": {"type": "disconnect_ack"}}}},
        {"disconnect": True},
    ]


def communication_flow(loops: int, ping_think: float, message_think: float) -> list[dict[str, Any]]:
    """Seed 003's "WebSocket Communication Flow" that every virtual user runs."""
    return [
        {"connect": {}},
        {"subscribe": {"channel": "agents"}},
        {"subscribe": {"channel": "metrics"}},
        {
            "loop": {
                "count": loops,
                "steps": [ping(), {"think": ping_think}, agent_message(), {"think": message_think}],
            }
        },
        {"unsubscribe": {"channel": "agents"}},
        *graceful_disconnect(),
    ]
