"""The closed vocabularies of seed 000: protocols, payload types, auth types, mutations."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class _UpperEnum(StrEnum):
    """Enums written in capitals in the seeds; lower case is accepted as well."""

    @classmethod
    def _missing_(cls, value: Any) -> Any:
        if isinstance(value, str):
            upper = value.strip().upper().replace("-", "_")
            upper = _ALIASES.get(upper, upper)
            for member in cls:
                if member.value == upper:
                    return member
        return None


_ALIASES = {"MCP": "JSONRPC", "JSON_RPC": "JSONRPC", "WS": "WEBSOCKET", "BEARER": "BEARER_TOKEN"}


class Protocol(_UpperEnum):
    WEBSOCKET = "WEBSOCKET"
    MQTT = "MQTT"
    HTTP = "HTTP"
    GRAPHQL = "GRAPHQL"
    JSONRPC = "JSONRPC"
    NATS = "NATS"
    """A publisher feeding a NATS subject (seed 001's fan-out source), usually one group of a MIXED run."""
    MIXED = "MIXED"


class PayloadType(_UpperEnum):
    VOICE_DATA = "VOICE_DATA"
    BEHAVIORAL_DATA = "BEHAVIORAL_DATA"
    SESSION_DATA = "SESSION_DATA"
    METRICS = "METRICS"
    HEARTBEAT = "HEARTBEAT"
    CUSTOM = "CUSTOM"


class AuthType(_UpperEnum):
    BEARER_TOKEN = "BEARER_TOKEN"
    BASIC_AUTH = "BASIC_AUTH"
    API_KEY = "API_KEY"
    JWT = "JWT"
    NONE = "NONE"


class MutationType(_UpperEnum):
    ADD_FIELD = "ADD_FIELD"
    REMOVE_FIELD = "REMOVE_FIELD"
    RENAME_FIELD = "RENAME_FIELD"
    CHANGE_TYPE = "CHANGE_TYPE"
    NULL_FIELD = "NULL_FIELD"


class ExecutorType(StrEnum):
    """k6's executor names, spelled as k6 spells them."""

    CONSTANT_VUS = "constant-vus"
    RAMPING_VUS = "ramping-vus"
    CONSTANT_ARRIVAL_RATE = "constant-arrival-rate"
    RAMPING_ARRIVAL_RATE = "ramping-arrival-rate"
