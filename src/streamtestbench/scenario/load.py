"""Load shapes: seed 000's ``rates``, Artillery phases, k6 executors, a progressive ladder."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from .base import ScenarioModel, Seconds
from .enums import ExecutorType


class Rates(ScenarioModel):
    """Per-connection message rate (seed 000), with ramps and periodic bursts."""

    messages_per_second: float = Field(gt=0, le=1_000_000)
    burst_multiplier: float = Field(default=1.0, ge=1.0, le=1000)
    burst_interval_seconds: Seconds = Field(default=10.0, gt=0)
    burst_duration_seconds: Seconds = Field(default=1.0, gt=0)
    ramp_up_seconds: Seconds = Field(default=0.0, ge=0)
    ramp_down_seconds: Seconds = Field(default=0.0, ge=0)
    max_in_flight: int | None = Field(default=None, ge=1, le=1_000_000)
    """At most this many unanswered messages per connection (wrk2's model with 1); unset = open loop.

    A sender held back by it still records each message's intended time, so the corrected
    latency shows the wait (coordinated omission corrected) and the uncorrected does not.
    """

    @model_validator(mode="after")
    def _burst_fits(self) -> Self:
        if self.burst_duration_seconds > self.burst_interval_seconds:
            raise ValueError(
                f"burstDurationSeconds ({self.burst_duration_seconds:g}) must not exceed "
                f"burstIntervalSeconds ({self.burst_interval_seconds:g})"
            )
        return self


class Phase(ScenarioModel):
    """An Artillery phase: new virtual users arrive, each runs the flow once."""

    name: str | None = None
    duration: Seconds = Field(gt=0)
    arrival_rate: float | None = Field(default=None, ge=0)
    ramp_to: float | None = Field(default=None, ge=0)
    arrival_count: int | None = Field(default=None, ge=0)
    max_vusers: int | None = Field(default=None, ge=1)
    pause: bool = False

    @model_validator(mode="after")
    def _one_arrival_kind(self) -> Self:
        kinds = [k for k, v in (("arrivalRate", self.arrival_rate), ("arrivalCount", self.arrival_count))
                 if v is not None]
        if self.pause and kinds:
            raise ValueError("a pause phase takes no arrivalRate or arrivalCount")
        if not self.pause and len(kinds) != 1:
            raise ValueError("a phase needs exactly one of arrivalRate, arrivalCount (or pause: true)")
        if self.ramp_to is not None and self.arrival_rate is None:
            raise ValueError("rampTo needs arrivalRate (the rate it ramps from)")
        return self


class Stage(ScenarioModel):
    """A k6 stage: move linearly to ``target`` VUs (or iterations/timeUnit) over ``duration``."""

    duration: Seconds = Field(ge=0)
    target: int = Field(ge=0)


_EXECUTOR_NEEDS: dict[ExecutorType, tuple[str, ...]] = {
    ExecutorType.CONSTANT_VUS: ("vus", "duration"),
    ExecutorType.RAMPING_VUS: ("stages",),
    ExecutorType.CONSTANT_ARRIVAL_RATE: ("rate", "duration", "pre_allocated_vus"),
    ExecutorType.RAMPING_ARRIVAL_RATE: ("stages", "pre_allocated_vus"),
}
_CAMEL = {"pre_allocated_vus": "preAllocatedVUs", "vus": "vus", "duration": "duration",
          "stages": "stages", "rate": "rate"}


class Executor(ScenarioModel):
    """A k6-style executor; field names follow k6 (``preAllocatedVUs``, ``timeUnit``...)."""

    type: ExecutorType
    vus: int | None = Field(default=None, ge=1)
    duration: Seconds | None = Field(default=None, gt=0)
    start_vus: int = Field(default=0, ge=0, alias="startVUs")
    stages: list[Stage] | None = Field(default=None, min_length=1)
    rate: float | None = Field(default=None, gt=0)
    start_rate: float = Field(default=0.0, ge=0)
    time_unit: Seconds = Field(default=1.0, gt=0)
    pre_allocated_vus: int | None = Field(default=None, ge=1, alias="preAllocatedVUs")
    max_vus: int | None = Field(default=None, ge=1, alias="maxVUs")
    graceful_stop: Seconds = Field(default=30.0, ge=0)
    graceful_ramp_down: Seconds = Field(default=30.0, ge=0)

    @model_validator(mode="after")
    def _fields_for_type(self) -> Self:
        missing = [_CAMEL[name] for name in _EXECUTOR_NEEDS[self.type] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"executor type {self.type.value} needs {', '.join(missing)}")
        if (self.max_vus is not None and self.pre_allocated_vus is not None
                and self.max_vus < self.pre_allocated_vus):
            raise ValueError(
                f"maxVUs ({self.max_vus}) must be >= preAllocatedVUs ({self.pre_allocated_vus})"
            )
        return self

    @property
    def total_seconds(self) -> float:
        if self.stages:
            return sum(stage.duration for stage in self.stages)
        return self.duration or 0.0


class LadderStep(ScenarioModel):
    """One rung of a progressive test: ramp to ``connections``, hold, then cool down."""

    name: str | None = None
    connections: int = Field(ge=1, le=1_000_000)
    ramp_up_seconds: Seconds = Field(default=0.0, ge=0)
    sustain_seconds: Seconds = Field(gt=0)
    message_interval_seconds: Seconds | None = Field(default=None, gt=0)


class Ladder(ScenarioModel):
    """Seed 001's progressive test (100 -> 1K -> 5K) with results per step."""

    steps: list[LadderStep] = Field(min_length=1)
    cooldown_seconds: Seconds = Field(default=0.0, ge=0)
