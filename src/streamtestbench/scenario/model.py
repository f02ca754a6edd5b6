"""The top-level scenario: seed 000's JSON format, extended with flows and load shapes."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .auth import Authentication
from .base import ScenarioModel, Seconds
from .data import DataSpec
from .enums import PayloadType, Protocol
from .flow import Step, normalise_steps
from .injection import FailureInjection
from .interpolate import declared_names, escape_literals
from .load import Executor, Ladder, Phase, Rates
from .validation import Validation

# URL schemes each protocol's endpoint may carry; a bare ``host:port/path`` is fine too.
ENDPOINT_SCHEMES: dict[Protocol, tuple[str, ...]] = {
    Protocol.WEBSOCKET: ("ws", "wss"),
    Protocol.MQTT: ("mqtt", "mqtts", "tcp", "ssl"),
    Protocol.HTTP: ("http", "https"),
    Protocol.GRAPHQL: ("http", "https", "ws", "wss"),
    Protocol.JSONRPC: ("http", "https", "ws", "wss"),
    Protocol.NATS: ("nats",),
}


class MqttWill(ScenarioModel):
    """The message the broker publishes when a client vanishes without DISCONNECT (``${clientId}`` allowed)."""

    topic: str = Field(min_length=1)
    payload: str = ""
    qos: Literal[0, 1, 2] = 0
    retain: bool = False


class MqttOptions(ScenarioModel):
    """MQTT session settings; ``${clientId}`` in a topic becomes each client's id."""

    topic: str = Field(default="streamtestbench/${clientId}", min_length=1)
    qos: Literal[0, 1, 2] = 0
    retain: bool = False
    clean_session: bool = True
    client_id: str = Field(default="stb-${vu}", min_length=1)
    keepalive_seconds: int = Field(default=60, ge=0, le=65535)
    version: Literal["3.1.1", "5"] = "3.1.1"
    username: str | None = None
    password: str | None = None
    max_inflight: int = Field(default=16, ge=1, le=65535)
    will: MqttWill | None = None


class LoadSpec(ScenarioModel):
    """The fields a MIXED user group shares with a whole scenario."""

    protocol: Protocol = Protocol.WEBSOCKET
    endpoint: str | None = None
    payloads: list[PayloadType] = Field(default_factory=list)
    custom_payload: Any = None
    """The JSON template CUSTOM payloads render (``{{ $randomUUID() }}``, ``${vu}``...)."""
    flow: list[Step] = Field(default_factory=list)
    authentication: Authentication | None = None
    mqtt: MqttOptions | None = None
    data: DataSpec | None = None

    @field_validator("flow", mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return normalise_steps(value)

    @field_validator("endpoint")
    @classmethod
    def _endpoint_text(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and (not value.strip() or any(ch.isspace() for ch in value.strip())):
            raise ValueError("endpoint must be a URL or host:port/path without spaces")
        value = value.strip() if value is not None else None
        protocol = info.data.get("protocol")
        if value is not None and "://" in value and isinstance(protocol, Protocol) and protocol is not Protocol.MIXED:
            scheme = value.split("://", 1)[0].lower()
            allowed = ENDPOINT_SCHEMES[protocol]
            if scheme not in allowed:
                raise ValueError(f"scheme '{scheme}://' does not fit {protocol.value}; "
                                 f"use {' or '.join(s + '://' for s in allowed)}")
        return value.strip() if value is not None else None

    def _check_endpoint(self) -> None:
        if self.protocol is not Protocol.MIXED and self.endpoint is None:
            raise ValueError(f"endpoint is required for {self.protocol.value}")


class UserGroup(LoadSpec):
    """One population of a MIXED scenario; ``weight`` shares out the connections."""

    name: str = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0)
    rates: Rates | None = None

    @model_validator(mode="after")
    def _group_rules(self) -> Self:
        if self.protocol is Protocol.MIXED:
            raise ValueError("a group's protocol must be a single protocol, not MIXED")
        self._check_endpoint()
        return self


class Scenario(LoadSpec):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    duration_seconds: Seconds | None = Field(default=None, gt=0, le=7 * 24 * 3600, alias="duration_seconds")
    connections: int | None = Field(default=None, ge=1, le=1_000_000)
    rates: Rates | None = None
    phases: list[Phase] = Field(default_factory=list)
    executor: Executor | None = None
    ladder: Ladder | None = None
    groups: list[UserGroup] = Field(default_factory=list, validate_default=True)
    failure_injection: FailureInjection | None = None
    validation: Validation | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None

    @field_validator("groups")
    @classmethod
    def _groups_fit(cls, groups: list[UserGroup], info: ValidationInfo) -> list[UserGroup]:
        protocol = info.data.get("protocol")
        if protocol is Protocol.MIXED and not groups:
            raise ValueError("protocol MIXED needs groups (one per protocol, with weights)")
        if protocol is Protocol.MIXED and info.data.get("flow"):
            raise ValueError("a MIXED scenario's flow belongs in each group (groups[].flow), not at the top")
        if isinstance(protocol, Protocol) and protocol is not Protocol.MIXED and groups:
            raise ValueError(f"groups are for protocol MIXED; this scenario is {protocol.value}")
        names = [group.name for group in groups]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"group names must be unique; repeated: {', '.join(duplicates)}")
        return groups

    @field_validator("rates")
    @classmethod
    def _ramps_fit(cls, rates: Rates | None, info: ValidationInfo) -> Rates | None:
        duration = info.data.get("duration_seconds")
        if rates is not None and isinstance(duration, float):
            ramps = rates.ramp_up_seconds + rates.ramp_down_seconds
            if ramps > duration:
                raise ValueError(f"rampUpSeconds + rampDownSeconds ({ramps:g}) exceed duration_seconds ({duration:g})")
        return rates

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        self._check_endpoint()
        self._check_load_shape()
        return self

    def to_data(self) -> dict[str, Any]:
        """File-ready data; literal ``${...}`` text is escaped again so the file reloads unchanged."""
        data = super().to_data()
        escaped: dict[str, Any] = escape_literals(data, declared_names(data))
        return escaped

    def _check_load_shape(self) -> None:
        shapes = [name for name, present in (("phases", bool(self.phases)),
                                             ("executor", self.executor is not None),
                                             ("ladder", self.ladder is not None)) if present]
        if len(shapes) > 1:
            raise ValueError(f"choose one load shape; this scenario sets {' and '.join(shapes)}")
        if shapes:
            return
        if self.duration_seconds is None:
            raise ValueError("duration_seconds is required (or give phases, executor or ladder)")
        if self.connections is None:
            raise ValueError("connections is required (or give phases, executor or ladder)")

    @property
    def load_shape(self) -> str:
        """Which load model drives the run: rates, constant, phases, executor or ladder."""
        if self.phases:
            return "phases"
        if self.executor is not None:
            return "executor"
        if self.ladder is not None:
            return "ladder"
        return "rates" if self.rates is not None else "constant"
