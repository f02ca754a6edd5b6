"""Merge ``run``'s command-line options onto a scenario, or build one from options alone.

Seed 000's ``run`` takes -e/-d/-p/-c/-r; they override the file's endpoint, duration,
protocol, connections and messages per second. Overrides are applied to the raw data
before validation, so a bad override is reported like a bad file field.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .enums import Protocol

DEFAULT_ENDPOINTS: dict[Protocol, str] = {
    Protocol.WEBSOCKET: "ws://127.0.0.1:8000/ws",
    Protocol.MQTT: "mqtt://127.0.0.1:1883",
    Protocol.HTTP: "http://127.0.0.1:8000/echo",
    Protocol.GRAPHQL: "http://127.0.0.1:8000/graphql",
    Protocol.JSONRPC: "http://127.0.0.1:8000/mcp",
    Protocol.NATS: "nats://127.0.0.1:4222",
}
FLAG_DEFAULTS = {"duration": 60.0, "connections": 10, "rate": 1.0}


@dataclass(frozen=True)
class RunOverrides:
    endpoint: str | None = None
    duration: float | None = None
    protocol: str | None = None
    connections: int | None = None
    rate: float | None = None

    @property
    def empty(self) -> bool:
        return all(value is None for value in vars(self).values())


def apply_overrides(data: dict[str, Any], overrides: RunOverrides) -> dict[str, Any]:
    """A copy of ``data`` with every given option written into its field."""
    merged = copy.deepcopy(data)
    if overrides.protocol is not None:
        merged["protocol"] = overrides.protocol.upper()
    if overrides.endpoint is not None:
        merged["endpoint"] = overrides.endpoint
    if overrides.duration is not None:
        merged["duration_seconds"] = overrides.duration
    if overrides.connections is not None:
        merged["connections"] = overrides.connections
    if overrides.rate is not None:
        rates = merged.get("rates")
        merged["rates"] = {**rates, "messagesPerSecond": overrides.rate} if isinstance(rates, dict) \
            else {"messagesPerSecond": overrides.rate}
    return merged


def data_from_flags(overrides: RunOverrides) -> dict[str, Any]:
    """A whole scenario from options alone: seed 000's quick smoke test form."""
    try:
        protocol = Protocol(overrides.protocol or "WEBSOCKET")
    except ValueError:
        protocol = None
    name = (protocol.value if protocol else str(overrides.protocol)).lower()
    data: dict[str, Any] = {
        "name": f"{name} quick test",
        "protocol": (overrides.protocol or "WEBSOCKET").upper(),
        "endpoint": overrides.endpoint or (DEFAULT_ENDPOINTS.get(protocol) if protocol else None),
        "duration_seconds": overrides.duration if overrides.duration is not None else FLAG_DEFAULTS["duration"],
        "connections": overrides.connections if overrides.connections is not None
        else FLAG_DEFAULTS["connections"],
        "rates": {"messagesPerSecond": overrides.rate if overrides.rate is not None else FLAG_DEFAULTS["rate"]},
        "payloads": ["HEARTBEAT"] if protocol is not Protocol.HTTP else [],
    }
    return {key: value for key, value in data.items() if value is not None}
