"""Seed 000's ``failureInjection`` block, with the keys exactly as the seed writes them."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from .base import ScenarioModel
from .enums import MutationType

Probability = float


class RangeMs(ScenarioModel):
    """An inclusive millisecond range, spelled as Kotlin's ``IntRange`` serialises."""

    start: int = Field(ge=0)
    end_inclusive: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end_inclusive < self.start:
            raise ValueError(
                f"endInclusive ({self.end_inclusive}) must be >= start ({self.start})"
            )
        return self


class NetworkDelays(ScenarioModel):
    enabled: bool = True
    range_ms: RangeMs
    probability: Probability = Field(ge=0.0, le=1.0)


class DuplicateMessages(ScenarioModel):
    enabled: bool = True
    probability: Probability = Field(ge=0.0, le=1.0)
    max_duplicates: int = Field(default=1, ge=1, le=100)


class Mutation(ScenarioModel):
    """One schema-drift mutation applied at ``fieldPath`` (dotted) of a JSON payload."""

    type: MutationType
    field_path: str = Field(min_length=1)
    new_value: Any = None
    new_name: str | None = Field(default=None, min_length=1)

    @field_validator("field_path")
    @classmethod
    def _readable_path(cls, value: str) -> str:
        from ..faults.schema_drift import parse_path  # the faults package imports this module

        parse_path(value)  # a PathError is a ValueError: reported against fieldPath at load time
        return value

    @model_validator(mode="after")
    def _needs(self) -> Self:
        if self.type is MutationType.RENAME_FIELD and not self.new_name:
            raise ValueError("RENAME_FIELD needs newName (the field's new name)")
        return self


class SchemaDrift(ScenarioModel):
    enabled: bool = True
    probability: Probability = Field(ge=0.0, le=1.0)
    mutations: list[Mutation] = Field(min_length=1)


class ConnectionDrops(ScenarioModel):
    enabled: bool = True
    probability: Probability = Field(ge=0.0, le=1.0)
    reconnect_delay_ms: int = Field(default=1000, ge=0)


class ReconnectStorm(ScenarioModel):
    """At ``atSeconds`` into the run, drop ``fraction`` of the connections at once; each reconnects
    after ``reconnectDelayMs``. Tests how the server copes with a thundering herd of handshakes."""

    enabled: bool = True
    at_seconds: float = Field(ge=0.0)
    fraction: float = Field(gt=0.0, le=1.0)
    reconnect_delay_ms: int = Field(default=0, ge=0)


class FailureInjection(ScenarioModel):
    """Client-side faults; each injection is counted in the results apart from server errors."""

    enabled: bool = True
    network_delays: NetworkDelays | None = None
    duplicate_messages: DuplicateMessages | None = None
    schema_drift: SchemaDrift | None = None
    connection_drops: ConnectionDrops | None = None
    reconnect_storm: ReconnectStorm | None = None
