"""Example scenarios, one set per protocol, written by ``streamtestbench generate``.

Every example comes from a seed: seed 000's scenario format (its two examples verbatim,
and its "Basic Structure" filled in), seed 001's quick/medium/stress/progressive WebSocket
tests, seed 003's agent-message tests and Artillery phases, seed 004's HTTP, GraphQL,
WebSocket and MCP tests. They aim at loopback only (``127.0.0.1`` / ``localhost``);
``${VAR:-default}`` lets a run point them elsewhere on the same machine or scale them
(``CONNECTIONS=250 MESSAGES=30``) without editing the file.

The examples are data, so ``streamtestbench validate`` and the tests check that each one
loads and gives an execution plan.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "EXAMPLES",
    "EXAMPLE_KINDS",
    "FORMATS",
    "KEY_ORDER",
    "Example",
    "examples_for",
    "ordered",
    "render_example",
    "write_examples",
]


@dataclass(frozen=True)
class Example:
    """One example scenario: the file it is written to and its content as plain data."""

    file_name: str
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data["name"])


KEY_ORDER: tuple[str, ...] = (
    "name", "description", "protocol", "endpoint",
    "duration_seconds", "connections", "rates", "phases", "executor", "ladder", "groups",
    "payloads", "mqtt", "failureInjection", "authentication", "flow", "validation",
    "variables", "seed",
)
"""Top-level keys in the order a reader wants them: what it is, where it goes, how much load."""

FORMATS: tuple[str, ...] = ("json", "yaml")


class _PlainDumper(yaml.SafeDumper):
    """Writes a value shared between places in full each time, never as a YAML anchor and alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

# --- shared pieces ------------------------------------------------------------------------

WS_URL = "${WS_URL:-ws://127.0.0.1:8000/ws}"
BASE_URL = "${BASE_URL:-http://127.0.0.1:8000}"
MQTT_URL = "${MQTT_URL:-mqtt://127.0.0.1:1883}"

BEARER: dict[str, Any] = {
    "type": "BEARER_TOKEN",
    "credentials": {"token": "${AUTH_TOKEN:-local-dev-token}"},
}
"""Seed 001: a JWT from ``npm run auth:token`` exported as AUTH_TOKEN."""


def _login(url: str = "/auth/login") -> dict[str, Any]:
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


def _ping() -> dict[str, Any]:
    return {"send": {"json": {"type": "ping"}, "expect": {"match": {"type": "pong"}}}}


def _agent_message() -> dict[str, Any]:
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


def _graceful_disconnect() -> list[dict[str, Any]]:
    """Seed 003: ask the server to let go (``disconnect_ack``), then close the socket."""
    return [
        {"send": {"json": {"type": "disconnect"}, "expect": {"match": {"type": "disconnect_ack"}}}},
        {"disconnect": True},
    ]


def _communication_flow(loops: int, ping_think: float, message_think: float) -> list[dict[str, Any]]:
    """Seed 003's "WebSocket Communication Flow" that every virtual user runs."""
    return [
        {"connect": {}},
        {"subscribe": {"channel": "agents"}},
        {"subscribe": {"channel": "metrics"}},
        {
            "loop": {
                "count": loops,
                "steps": [_ping(), {"think": ping_think}, _agent_message(), {"think": message_think}],
            }
        },
        {"unsubscribe": {"channel": "agents"}},
        *_graceful_disconnect(),
    ]


# --- seed 000: the scenario format ----------------------------------------------------------

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


# --- seed 001: progressive WebSocket load ---------------------------------------------------

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


# --- seed 003: agent messages and Artillery phases ------------------------------------------

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
            {"loop": {"count": f"${{MESSAGES:-{messages}}}", "steps": [_agent_message()]}},
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
    "flow": _communication_flow(20, 5, 3),
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
    "flow": _communication_flow(2, 1, 1),
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
    "flow": _communication_flow(20, 5, 3),
    "validation": {"minSuccessRate": 0.99, "maxP95LatencyMs": 50, "maxP99LatencyMs": 100},
}


# --- seed 004: HTTP, GraphQL, WebSocket, MCP ------------------------------------------------

WS_SUBSCRIBE_PUBLISH: dict[str, Any] = {
    "name": "WebSocket Subscribe and Publish",
    "description": (
        "Seed 004 WebSocket load test: 100 concurrent connections log in, connect to /ws, "
        "ping, subscribe to the loadtest channel and broadcast to it."
    ),
    "protocol": "WEBSOCKET",
    "endpoint": WS_URL,
    "executor": {"type": "constant-vus", "vus": 100, "duration": "30s", "gracefulStop": "5s"},
    "authentication": _login(f"{BASE_URL}/auth/login"),
    "flow": [
        {"connect": {}},
        _ping(),
        {"subscribe": {"channel": "loadtest"}},
        {
            "loop": {
                "count": 10,
                "steps": [
                    {"send": {"json": {"type": "broadcast",
                                       "data": {"channel": "loadtest", "data": "message"}}}},
                    {"think": 1},
                ],
            }
        },
        {"unsubscribe": {"channel": "loadtest"}},
        {"disconnect": True},
    ],
    "validation": {"maxErrorRate": 0.01, "maxP95LatencyMs": 200, "minThroughputQps": 100},
}

HTTP_BASIC_LOAD: dict[str, Any] = {
    "name": "HTTP Basic Load",
    "description": (
        "Seed 004 basic load test: 100 requests/s for 2 minutes with a JWT from /auth/login "
        "(tokens.accessToken). Targets: success > 99%, p95 < 200 ms, p99 < 500 ms."
    ),
    "protocol": "HTTP",
    "endpoint": BASE_URL,
    "executor": {
        "type": "constant-arrival-rate",
        "rate": 100,
        "timeUnit": "1s",
        "duration": "2m",
        "preAllocatedVUs": 50,
        "maxVUs": 200,
    },
    "authentication": _login(),
    "flow": [{"get": {"url": "/api/v1/users", "check": [{"status": 200}]}}],
    "validation": {"minSuccessRate": 0.99, "maxP95LatencyMs": 200, "maxP99LatencyMs": 500},
}

REST_CRUD: dict[str, Any] = {
    "name": "REST CRUD",
    "description": (
        "Seed 004 REST API test: create, list, read, update and delete on /api/v1/users and "
        "/api/v1/posts (dataset: 1000 users, 1000 posts with ids 1..1000)."
    ),
    "protocol": "HTTP",
    "endpoint": BASE_URL,
    "phases": [
        {"name": "Warm up", "duration": 10, "arrivalRate": 2, "rampTo": 10},
        {"name": "Settle", "duration": 5, "pause": True},
        {"name": "Load test", "duration": 30, "arrivalRate": 10},
        {"name": "Spike", "duration": 5, "arrivalCount": 50, "maxVusers": 50},
    ],
    "authentication": _login(),
    "flow": [
        {"post": {"url": "/api/v1/users",
                  "json": {"name": "Load Test User ${vu}", "email": "loadtest+${vu}-${iteration}@example.test"},
                  "check": [{"status": [200, 201]}]}},
        {"get": {"url": "/api/v1/users?limit=10", "check": [{"status": 200}]}},
        {"get": {"url": "/api/v1/users/${vu}", "check": [{"status": 200}, {"jsonPath": "id", "exists": True}]}},
        {"put": {"url": "/api/v1/users/${vu}", "json": {"name": "Updated User ${vu}"},
                 "check": [{"status": 200}]}},
        {"post": {"url": "/api/v1/posts",
                  "json": {"title": "Load test post ${vu}", "body": "Generated by streamtestbench",
                           "authorId": "${vu}"},
                  "check": [{"status": [200, 201]}]}},
        {"get": {"url": "/api/v1/posts?limit=10", "check": [{"status": 200}]}},
        {"patch": {"url": "/api/v1/posts/${vu}", "json": {"title": "Edited post ${vu}"},
                   "check": [{"status": 200}]}},
        {"delete": {"url": "/api/v1/posts/${vu}", "check": [{"status": [200, 204, 404]}]}},
    ],
    "validation": {"maxErrorRate": 0.01, "maxP95LatencyMs": 200, "maxP99LatencyMs": 500},
}

K6_RAMPING_VUS: dict[str, Any] = {
    "name": "k6 Ramping VUs",
    "description": "A k6-style ramping-vus executor: 0 -> 20 virtual users, hold, back to 0.",
    "protocol": "HTTP",
    "endpoint": BASE_URL,
    "executor": {
        "type": "ramping-vus",
        "startVUs": 0,
        "stages": [
            {"duration": "10s", "target": 20},
            {"duration": "30s", "target": 20},
            {"duration": "10s", "target": 0},
        ],
        "gracefulRampDown": "5s",
    },
    "flow": [
        {"get": {"url": "/api/v1/users", "check": [{"status": 200}]}},
        {"think": 1},
    ],
    "validation": {"maxErrorRate": 0.01, "maxP95LatencyMs": 200},
}

K6_RAMPING_ARRIVAL_RATE: dict[str, Any] = {
    "name": "k6 Ramping Arrival Rate",
    "description": (
        "A k6-style ramping-arrival-rate executor: iterations start at 10/s, ramp to 50/s, "
        "hold and ramp down, whatever the server's latency (open model)."
    ),
    "protocol": "HTTP",
    "endpoint": BASE_URL,
    "executor": {
        "type": "ramping-arrival-rate",
        "startRate": 10,
        "timeUnit": "1s",
        "preAllocatedVUs": 20,
        "maxVUs": 100,
        "stages": [
            {"duration": "10s", "target": 50},
            {"duration": "20s", "target": 50},
            {"duration": "10s", "target": 0},
        ],
    },
    "flow": [{"get": {"url": "/api/v1/posts", "check": [{"status": 200}]}}],
    "validation": {"maxErrorRate": 0.01, "maxP95LatencyMs": 200},
}

GRAPHQL_QUERY_MUTATION: dict[str, Any] = {
    "name": "GraphQL Query and Mutation",
    "description": "Seed 004 GraphQL test: a users query and a createPost mutation on /graphql.",
    "protocol": "GRAPHQL",
    "endpoint": "${GRAPHQL_URL:-http://127.0.0.1:8000/graphql}",
    "phases": [
        {"name": "Warm up", "duration": 10, "arrivalRate": 5},
        {"name": "Load test", "duration": 20, "arrivalRate": 20},
    ],
    "authentication": _login(f"{BASE_URL}/auth/login"),
    "flow": [
        {"graphql": {
            "query": "query GetUsers($first: Int) { users(pagination: { first: $first }) "
                     "{ edges { node { id name email } } } }",
            "operationName": "GetUsers",
            "variables": {"first": 10},
            "check": [{"jsonPath": "errors", "exists": False}],
        }},
        {"graphql": {
            "query": "mutation CreatePost($input: CreatePostInput!) { createPost(input: $input) "
                     "{ id title } }",
            "operationName": "CreatePost",
            "variables": {"input": {"title": "Load test post ${vu}-${iteration}", "body": "GraphQL load"}},
            "check": [{"jsonPath": "data.createPost.id", "exists": True}],
        }},
    ],
    "validation": {"maxErrorRate": 0.01, "maxP95LatencyMs": 200, "maxP99LatencyMs": 500},
}

MCP_TOOLS: dict[str, Any] = {
    "name": "MCP Tool Calls",
    "description": (
        "Seed 004 MCP test: JSON-RPC 2.0 tools/call of echo, get_time and get_user_info on /mcp "
        "(the engine performs the initialize handshake once per session)."
    ),
    "protocol": "JSONRPC",
    "endpoint": "${MCP_URL:-http://127.0.0.1:8000/mcp}",
    "phases": [{"name": "Load test", "duration": 30, "arrivalRate": 10}],
    "authentication": _login(f"{BASE_URL}/auth/login"),
    "flow": [
        {"rpc": {"method": "tools/list"}},
        {"mcp": {"tool": "echo", "arguments": {"text": "Load test message ${vu}-${iteration}"}}},
        {"mcp": {"tool": "get_time"}},
        {"mcp": {"tool": "get_user_info", "arguments": {"userId": "${vu}"}}},
    ],
    "validation": {"maxErrorRate": 0.01, "maxP95LatencyMs": 200, "minThroughputQps": 100},
}


# --- MQTT -----------------------------------------------------------------------------------

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


# --- MIXED ----------------------------------------------------------------------------------

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


def _example(file_name: str, data: dict[str, Any]) -> Example:
    return Example(file_name, copy.deepcopy(data))


EXAMPLES: dict[str, list[Example]] = {
    "websocket": [
        _example("mobile_sync_stress.json", MOBILE_SYNC_TEST),
        _example("basic_structure.json", BASIC_STRUCTURE),
        _example("websocket_quick.json", WS_QUICK),
        _example("websocket_medium.json", WS_MEDIUM),
        _example("websocket_stress.json", WS_STRESS),
        _example("websocket_progressive.json", WS_PROGRESSIVE),
        _example("agents_quick.json", AGENTS_QUICK),
        _example("agents_medium.json", AGENTS_MEDIUM),
        _example("agents_heavy.json", AGENTS_HEAVY),
        _example("agents_communication_flow.json", AGENTS_FLOW),
        _example("artillery_quick.json", ARTILLERY_QUICK),
        _example("artillery_staging.json", ARTILLERY_STAGING),
        _example("websocket_subscribe_publish.json", WS_SUBSCRIBE_PUBLISH),
    ],
    "mqtt": [
        _example("mqtt_graphql_load.json", MQTT_GRAPHQL_LOAD),
        _example("mqtt_qos1.json", MQTT_QOS1),
        _example("mqtt_pubsub_flow.json", MQTT_PUBSUB_FLOW),
    ],
    "http": [
        _example("http_basic_load.json", HTTP_BASIC_LOAD),
        _example("rest_crud.json", REST_CRUD),
        _example("k6_ramping_vus.json", K6_RAMPING_VUS),
        _example("k6_ramping_arrival_rate.json", K6_RAMPING_ARRIVAL_RATE),
    ],
    "graphql": [_example("graphql_query_mutation.json", GRAPHQL_QUERY_MUTATION)],
    "mcp": [_example("mcp_tools.json", MCP_TOOLS)],
    "mixed": [_example("mixed_protocols.json", MIXED_PROTOCOLS)],
}
"""The examples by kind; ``generate --type all`` writes every one into one directory."""

EXAMPLE_KINDS: tuple[str, ...] = (*EXAMPLES, "all")


def examples_for(kind: str) -> list[Example]:
    """The examples of one kind (``websocket`` ... ``mixed``), or all of them for ``all``."""
    key = kind.strip().lower()
    if key == "all":
        return [example for group in EXAMPLES.values() for example in group]
    if key not in EXAMPLES:
        raise ValueError(f"unknown example type {kind!r}; choose one of {', '.join(EXAMPLE_KINDS)}")
    return list(EXAMPLES[key])


def ordered(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its top-level keys in :data:`KEY_ORDER`; keys it does not name keep their order."""
    rank = {key: index for index, key in enumerate(KEY_ORDER)}
    keys = sorted(data, key=lambda key: rank.get(key, len(rank)))
    return {key: data[key] for key in keys}


def render_example(example: Example, fmt: str = "json") -> str:
    """The file text of ``example``: JSON with a 2-space indent, or block-style YAML."""
    data = ordered(example.data)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        text: str = yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True,
                              default_flow_style=False, width=100)
        return text
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _file_name(example: Example, fmt: str) -> str:
    stem = example.file_name.rsplit(".", 1)[0] if example.file_name.endswith(".json") else example.file_name
    return f"{stem}.{fmt}"


def write_examples(kind: str, directory: Path, fmt: str = "json") -> list[Path]:
    """Write the examples of ``kind`` (or ``all``) into ``directory``; return the files written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    chosen = examples_for(kind)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for example in chosen:
        path = directory / _file_name(example, fmt)
        path.write_text(render_example(example, fmt), encoding="utf-8")
        written.append(path)
    return written
