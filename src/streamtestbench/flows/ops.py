"""Compiled operations that every connection-holding protocol's flows share: think times and expects."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..protocols.matching import SubsetMatch
from ..scenario.flow import ExpectStep, ThinkStep


@dataclass(frozen=True)
class Think:
    """Pause ``low`` seconds, or a uniform draw between ``low`` and ``high``."""

    low: float
    high: float

    @classmethod
    def of(cls, step: ThinkStep) -> Think:
        think = step.think
        low = think.seconds if think.seconds is not None else (think.min or 0.0)
        high = think.seconds if think.seconds is not None else (think.max or 0.0)
        return cls(low, high)

    def seconds(self, rng: random.Random) -> float:
        return self.low if self.low == self.high else rng.uniform(self.low, self.high)


@dataclass(frozen=True)
class Expect:
    """Wait for the next received message that matches, up to ``timeout_s``."""

    matcher: SubsetMatch
    timeout_s: float

    @classmethod
    def of(cls, step: ExpectStep) -> Expect:
        return cls(SubsetMatch.of(step.expect.match, step.expect.contains), step.expect.timeout_ms / 1000)
