"""The execution plan: what a scenario will do, computed without sending anything.

As k6 separates an executor's configuration (and its execution requirements) from
running it, ``build_plan`` turns a validated scenario into stages with durations,
target connections or rates and the expected message count. ``validate`` prints it;
the engine executes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from .enums import ExecutorType, Protocol
from .flow import count_sends, think_seconds
from .load import Executor, Phase, Rates
from .model import Scenario

DEFAULT_LADDER_INTERVAL_SECONDS = 5.0
"""Seed 001's quick test sends one message every 5 s per client."""


class StageKind(StrEnum):
    CONNECTIONS = "connections"
    """Closed: a fixed population of connections, each sending at a rate or running the flow."""
    ARRIVALS = "arrivals"
    """Open: new virtual users arrive at a rate, each running the flow once."""
    ITERATIONS = "iterations"
    """Open: flow iterations start at a rate from a pool of virtual users (k6 arrival-rate)."""
    IDLE = "idle"
    """Nothing is sent: a pause phase or a ladder's cooldown."""


@dataclass(frozen=True)
class Workload:
    """What each connection does: its share of the population, its flow and its rates."""

    name: str
    share: float
    sends_per_iteration: int
    think_seconds: float
    messages_per_second: float | None


@dataclass(frozen=True)
class PlanStage:
    name: str
    kind: StageKind
    start_seconds: float
    duration_seconds: float
    start_level: float
    end_level: float
    expected_messages: float | None
    exact: bool = True
    max_vus: int | None = None
    messages_per_second: float | None = None
    """Per-connection send rate, when the rates block (not a flow) paces the sends."""

    @property
    def unit(self) -> str:
        return {StageKind.CONNECTIONS: "connections", StageKind.ARRIVALS: "arrivals/s",
                StageKind.ITERATIONS: "iterations/s", StageKind.IDLE: ""}[self.kind]


@dataclass(frozen=True)
class ExecutionPlan:
    scenario_name: str
    protocol: Protocol
    shape: str
    stages: tuple[PlanStage, ...]
    workloads: tuple[Workload, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_seconds(self) -> float:
        return max((s.start_seconds + s.duration_seconds for s in self.stages), default=0.0)

    @property
    def peak_connections(self) -> int:
        """Most connections (or VUs) open at once, so capacity can be checked before a run."""
        peaks = [max(s.start_level, s.end_level) for s in self.stages if s.kind is StageKind.CONNECTIONS]
        iteration = max((load.think_seconds for load in self.workloads), default=0.0)
        for stage in self.stages:
            if stage.kind in (StageKind.ARRIVALS, StageKind.ITERATIONS):
                # Little's law: users in flight = arrival rate x time each spends in its flow
                busy = max(1.0, math.ceil(max(stage.start_level, stage.end_level) * iteration))
                peaks.append(float(stage.max_vus) if stage.max_vus else busy)
        return int(max(peaks, default=0))

    @property
    def expected_messages(self) -> float | None:
        counts = [s.expected_messages for s in self.stages if s.kind is not StageKind.IDLE]
        if any(count is None for count in counts):
            return None
        return sum(count for count in counts if count is not None)

    @property
    def exact(self) -> bool:
        return all(s.exact for s in self.stages)


def _workloads(scenario: Scenario) -> tuple[Workload, ...]:
    if scenario.groups:
        total = sum(group.weight for group in scenario.groups)
        loads = []
        for group in scenario.groups:
            rates = group.rates or scenario.rates
            rate = rates.messages_per_second if rates is not None and not group.flow else None
            loads.append(Workload(group.name, group.weight / total, count_sends(group.flow),
                                  think_seconds(group.flow), rate))
        return tuple(loads)
    rate = scenario.rates.messages_per_second if scenario.rates and not scenario.flow else None
    return (Workload(scenario.protocol.value.lower(), 1.0, count_sends(scenario.flow),
                     think_seconds(scenario.flow), rate),)


def _closed_messages(workloads: tuple[Workload, ...], connection_seconds: float,
                     rates: Rates | None = None) -> tuple[float | None, bool]:
    """Messages sent by a closed population over ``connection_seconds`` (area under VUs)."""
    total = 0.0
    exact = True
    for load in workloads:
        if load.messages_per_second is not None:
            total += load.share * connection_seconds * load.messages_per_second
        elif load.sends_per_iteration == 0:
            continue
        elif load.think_seconds > 0:
            total += load.share * connection_seconds / load.think_seconds * load.sends_per_iteration
            exact = False
        else:
            return None, False
    return total, exact


def _open_messages(workloads: tuple[Workload, ...], iterations: float) -> float:
    return sum(load.share * iterations * max(load.sends_per_iteration, 1) for load in workloads)


def _rates_stages(scenario: Scenario, loads: tuple[Workload, ...]) -> list[PlanStage]:
    assert scenario.duration_seconds is not None and scenario.connections is not None
    rates = scenario.rates
    n, total = float(scenario.connections), scenario.duration_seconds
    up = rates.ramp_up_seconds if rates else 0.0
    down = rates.ramp_down_seconds if rates else 0.0
    steady = total - up - down
    mps = rates.messages_per_second if rates and not scenario.flow else None
    stages = []
    clock = 0.0
    for name, seconds, start, end in (("ramp-up", up, 0.0, n), ("steady", steady, n, n),
                                      ("ramp-down", down, n, 0.0)):
        if seconds <= 0:
            continue
        area = seconds * (start + end) / 2
        messages, exact = _closed_messages(loads, area)
        if name == "steady" and rates and rates.burst_multiplier > 1 and messages is not None and mps:
            burst_share = rates.burst_duration_seconds / rates.burst_interval_seconds
            messages += area * mps * (rates.burst_multiplier - 1) * burst_share
        stages.append(PlanStage(name, StageKind.CONNECTIONS, clock, seconds, start, end, messages, exact,
                                messages_per_second=mps))
        clock += seconds
    return stages


def _phase_stages(phases: list[Phase], loads: tuple[Workload, ...]) -> list[PlanStage]:
    stages = []
    clock = 0.0
    for index, phase in enumerate(phases):
        name = phase.name or f"phase {index + 1}"
        if phase.pause:
            stages.append(PlanStage(name, StageKind.IDLE, clock, phase.duration, 0, 0, 0.0))
        elif phase.arrival_count is not None:
            rate = phase.arrival_count / phase.duration
            stages.append(PlanStage(name, StageKind.ARRIVALS, clock, phase.duration, rate, rate,
                                    _open_messages(loads, phase.arrival_count), max_vus=phase.max_vusers))
        else:
            start = phase.arrival_rate or 0.0
            end = phase.ramp_to if phase.ramp_to is not None else start
            arrivals = phase.duration * (start + end) / 2
            stages.append(PlanStage(name, StageKind.ARRIVALS, clock, phase.duration, start, end,
                                    _open_messages(loads, arrivals), max_vus=phase.max_vusers))
        clock += phase.duration
    return stages


def _executor_stages(executor: Executor, loads: tuple[Workload, ...]) -> list[PlanStage]:
    kind = executor.type
    if kind is ExecutorType.CONSTANT_VUS:
        assert executor.vus is not None and executor.duration is not None
        vus = float(executor.vus)
        messages, exact = _closed_messages(loads, vus * executor.duration)
        return [PlanStage(kind.value, StageKind.CONNECTIONS, 0.0, executor.duration, vus, vus, messages, exact)]
    if kind is ExecutorType.CONSTANT_ARRIVAL_RATE:
        assert executor.rate is not None and executor.duration is not None
        per_second = executor.rate / executor.time_unit
        return [PlanStage(kind.value, StageKind.ITERATIONS, 0.0, executor.duration, per_second, per_second,
                          _open_messages(loads, per_second * executor.duration),
                          max_vus=executor.max_vus or executor.pre_allocated_vus)]
    assert executor.stages is not None
    stages = []
    clock = 0.0
    open_model = kind is ExecutorType.RAMPING_ARRIVAL_RATE
    level = (executor.start_rate / executor.time_unit) if open_model else float(executor.start_vus)
    for index, stage in enumerate(executor.stages):
        target = stage.target / executor.time_unit if open_model else float(stage.target)
        area = stage.duration * (level + target) / 2
        if open_model:
            stages.append(PlanStage(f"stage {index + 1}", StageKind.ITERATIONS, clock, stage.duration, level,
                                    target, _open_messages(loads, area),
                                    max_vus=executor.max_vus or executor.pre_allocated_vus))
        else:
            messages, exact = _closed_messages(loads, area)
            stages.append(PlanStage(f"stage {index + 1}", StageKind.CONNECTIONS, clock, stage.duration, level,
                                    target, messages, exact))
        clock += stage.duration
        level = target
    return stages


def _ladder_stages(scenario: Scenario, loads: tuple[Workload, ...]) -> list[PlanStage]:
    assert scenario.ladder is not None
    stages = []
    clock = 0.0
    for index, step in enumerate(scenario.ladder.steps):
        name = step.name or f"step {index + 1}"
        interval = step.message_interval_seconds
        if interval is None and scenario.rates is not None:
            interval = 1.0 / scenario.rates.messages_per_second
        interval = interval or DEFAULT_LADDER_INTERVAL_SECONDS
        step_loads = tuple(Workload(load.name, load.share, load.sends_per_iteration, load.think_seconds,
                                    None if scenario.flow else 1.0 / interval) for load in loads)
        n = float(step.connections)
        for part, seconds, start in ((f"{name} ramp", step.ramp_up_seconds, 0.0),
                                     (f"{name} sustain", step.sustain_seconds, n)):
            if seconds <= 0:
                continue
            messages, exact = _closed_messages(step_loads, seconds * (start + n) / 2)
            stages.append(PlanStage(part, StageKind.CONNECTIONS, clock, seconds, start, n, messages, exact,
                                    messages_per_second=None if scenario.flow else 1.0 / interval))
            clock += seconds
        cooldown = scenario.ladder.cooldown_seconds
        if cooldown > 0 and index < len(scenario.ladder.steps) - 1:
            stages.append(PlanStage(f"{name} cooldown", StageKind.IDLE, clock, cooldown, 0, 0, 0.0))
            clock += cooldown
    return stages


def share_text(share: float) -> str:
    """A group's share as a percentage, precise enough that no group reads as 0% or a shared one as 100%."""
    percent = share * 100
    if 0 < percent < 1:
        return f"{percent:.2g}%"
    if 99 < percent < 100:
        return f"{percent:.3g}%"
    return f"{percent:.0f}%"


def build_plan(scenario: Scenario) -> ExecutionPlan:
    """Compute the stages a scenario will execute, and what each is expected to send."""
    loads = _workloads(scenario)
    shape = scenario.load_shape
    notes: list[str] = []
    if shape == "phases":
        stages = _phase_stages(scenario.phases, loads)
    elif shape == "executor":
        assert scenario.executor is not None
        stages = _executor_stages(scenario.executor, loads)
    elif shape == "ladder":
        stages = _ladder_stages(scenario, loads)
    else:
        stages = _rates_stages(scenario, loads)
    if any(not s.exact for s in stages):
        notes.append("message counts marked ~ are upper bounds from think times; the server's speed decides")
    if any(s.expected_messages is None for s in stages):
        notes.append("a flow without think time runs as fast as the target answers: no count to expect")
    if len(loads) > 1:
        notes.extend(f"group {load.name}: {share_text(load.share)} of connections" for load in loads)
    return ExecutionPlan(scenario.name, scenario.protocol, shape, tuple(stages), loads, tuple(notes))
