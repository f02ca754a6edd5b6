"""MIXED scenarios: each virtual user belongs to one weighted group, run by its protocol's behaviour.

Units are dealt to groups by smooth weighted round robin over the unit index, so every
worker computes the same assignment without talking to the others, and any prefix of
units (a ramp that is half way up) holds the groups in their weighted shares.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..scenario.model import Scenario, UserGroup
from .behaviour import Behaviour
from .recording import Recorder
from .stopping import StopSignal

_GROUP_FIELDS = ("protocol", "endpoint", "payloads", "flow", "authentication", "mqtt", "data")


def group_scenario(scenario: Scenario, group: UserGroup) -> Scenario:
    """The scenario as one group sees it: the group's protocol, endpoint and flow; the parent's load shape."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)
    data.pop("groups", None)
    for key in ("payloads", "flow", "authentication", "mqtt", "data"):
        data.pop(key, None)
    group_data = group.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)
    for key in _GROUP_FIELDS:
        if key in group_data:
            data[key] = group_data[key]
    if group.rates is not None:
        data["rates"] = group_data["rates"]
    data["name"] = f"{scenario.name} / {group.name}"
    return Scenario.model_validate(data)


class GroupAssignment:
    """Which group unit ``i`` belongs to: smooth weighted round robin, extended on demand."""

    def __init__(self, weights: Sequence[float]) -> None:
        total = sum(weights)
        self.shares = [weight / total for weight in weights]
        self.credit = [0.0] * len(weights)
        self.assigned = bytearray()

    def group_of(self, unit: int) -> int:
        while len(self.assigned) <= unit:
            for index, share in enumerate(self.shares):
                self.credit[index] += share
            chosen = max(range(len(self.shares)), key=self.credit.__getitem__)
            self.credit[chosen] -= 1.0
            self.assigned.append(chosen)
        return self.assigned[unit]


def constant_rate_due(rate: float) -> Callable[[int], int | None]:
    """Message ``i`` due ``i / rate`` seconds after the connection starts (a group's own rate)."""
    origin = time.monotonic_ns()
    period_ns = 1e9 / rate
    return lambda index: origin + int(index * period_ns)


class MixedBehaviour:
    """Dispatches each unit to its group's behaviour; metrics keep each protocol's own names."""

    def __init__(self, scenario: Scenario, recorder: Recorder, rng: random.Random, *, grace_s: float,
                 make: Callable[[Scenario, Recorder, random.Random, float], Behaviour]) -> None:
        self.groups = list(scenario.groups)
        self.views = [group_scenario(scenario, group) for group in self.groups]
        self.behaviours = [make(view, recorder, random.Random(rng.random()), grace_s) for view in self.views]
        self.assignment = GroupAssignment([group.weight for group in self.groups])

    def _due_for(self, index: int, next_due: Callable[[int], int | None] | None) -> Any:
        group = self.groups[index]
        if group.flow:
            return None  # a group with a flow loops it (closed model); rates drive flowless senders
        if group.rates is not None:
            return constant_rate_due(group.rates.messages_per_second)
        return next_due

    async def run_connection(self, unit: int, stop: StopSignal,
                             next_due: Callable[[int], int | None] | None) -> None:
        index = self.assignment.group_of(unit)
        await self.behaviours[index].run_connection(unit, stop, self._due_for(index, next_due))

    async def run_iteration(self, unit: int, scheduled_ns: int, stop: StopSignal) -> None:
        index = self.assignment.group_of(unit)
        await self.behaviours[index].run_iteration(unit, scheduled_ns, stop)

    async def close(self) -> None:
        for behaviour in self.behaviours:
            await behaviour.close()
