"""Server-side faults: parsing their specs and deciding, per message, what happens to its reply.

Pure: nothing here sleeps or touches a socket. The caller passes the current monotonic time and gets
back whether to reply, drop or reset, and when the reply may leave. That keeps the timing logic
table-testable and lets the I/O layer schedule the release precisely.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

__all__ = [
    "ALLOWED_FORMS",
    "Action",
    "Decision",
    "DropFault",
    "Fault",
    "FaultController",
    "FaultPlan",
    "FaultSpecError",
    "ResetFault",
    "SlowFault",
    "StallFault",
    "parse_fault",
    "parse_faults",
]

ALLOWED_FORMS = "stall:SECONDS[@AFTER], slow:MS, drop:RATE, reset:RATE (RATE is a fraction 0..1)"


class FaultSpecError(ValueError):
    """A fault spec that does not parse; the message names the spec and the allowed forms."""

    def __init__(self, spec: str, reason: str) -> None:
        super().__init__(f"bad fault spec {spec!r}: {reason}; allowed forms: {ALLOWED_FORMS}")
        self.spec = spec
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StallFault:
    """Once, ``after`` seconds after activation, hold every reply for ``seconds`` then release them."""

    seconds: float
    after: float = 0.0

    def spec(self) -> str:
        return f"stall:{_num(self.seconds)}@{_num(self.after)}"


@dataclass(frozen=True, slots=True)
class SlowFault:
    """Delay every reply by ``ms`` milliseconds."""

    ms: float

    def spec(self) -> str:
        return f"slow:{_num(self.ms)}"


@dataclass(frozen=True, slots=True)
class DropFault:
    """Swallow the reply to this fraction of messages."""

    rate: float

    def spec(self) -> str:
        return f"drop:{_num(self.rate)}"


@dataclass(frozen=True, slots=True)
class ResetFault:
    """Abort the TCP connection on this fraction of messages."""

    rate: float

    def spec(self) -> str:
        return f"reset:{_num(self.rate)}"


Fault = StallFault | SlowFault | DropFault | ResetFault


def _num(value: float) -> str:
    return f"{value:g}"


def _number(spec: str, text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(spec, f"{what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise FaultSpecError(spec, f"{what} must be finite")
    return value


def _rate(spec: str, text: str) -> float:
    value = _number(spec, text, "RATE")
    if not 0.0 <= value <= 1.0:
        raise FaultSpecError(spec, f"RATE must be between 0 and 1, got {text}")
    return value


def parse_fault(spec: str) -> Fault:
    """Parse one ``kind:value`` spec, e.g. ``stall:2@1``, ``slow:10``, ``drop:0.1``, ``reset:1``."""
    kind, sep, value = spec.strip().partition(":")
    kind = kind.strip().lower()
    value = value.strip()
    if not sep or not value:
        raise FaultSpecError(spec, "expected KIND:VALUE")
    if kind == "stall":
        seconds_text, at, after_text = value.partition("@")
        seconds = _number(spec, seconds_text, "SECONDS")
        if seconds <= 0:
            raise FaultSpecError(spec, "SECONDS must be positive")
        after = _number(spec, after_text, "AFTER") if at else 0.0
        if after < 0:
            raise FaultSpecError(spec, "AFTER must be >= 0")
        return StallFault(seconds=seconds, after=after)
    if kind == "slow":
        ms = _number(spec, value, "MS")
        if ms < 0:
            raise FaultSpecError(spec, "MS must be >= 0")
        return SlowFault(ms=ms)
    if kind == "drop":
        return DropFault(rate=_rate(spec, value))
    if kind == "reset":
        return ResetFault(rate=_rate(spec, value))
    raise FaultSpecError(spec, f"unknown fault kind {kind!r}")


def parse_faults(specs: Iterable[str]) -> tuple[Fault, ...]:
    """Parse several specs; the first bad one raises :class:`FaultSpecError`."""
    return tuple(parse_fault(spec) for spec in specs)


class Action(IntEnum):
    """What the I/O layer does with the reply to one message."""

    REPLY = 0
    DROP = 1
    RESET = 2


class Decision(NamedTuple):
    """The fate of one message's reply; ``release_at`` is on the caller's monotonic clock."""

    action: Action
    release_at: float
    stalled: bool
    slowed: bool


class FaultPlan:
    """A fixed set of faults, activated at one instant, with the RNG that draws drops and resets."""

    __slots__ = ("_drop", "_reset", "_slow_s", "_stalls", "activated_at", "faults")

    def __init__(self, faults: Iterable[Fault], activated_at: float) -> None:
        self.faults: tuple[Fault, ...] = tuple(faults)
        self.activated_at = activated_at
        self._slow_s = sum(f.ms for f in self.faults if isinstance(f, SlowFault)) / 1000.0
        self._stalls = tuple(
            (activated_at + f.after, activated_at + f.after + f.seconds)
            for f in self.faults
            if isinstance(f, StallFault)
        )
        # Several drop/reset specs combine as independent chances.
        self._drop = 1.0 - math.prod(1.0 - f.rate for f in self.faults if isinstance(f, DropFault))
        self._reset = 1.0 - math.prod(1.0 - f.rate for f in self.faults if isinstance(f, ResetFault))

    def stall_end(self, now: float) -> float | None:
        """The end of the stall window ``now`` falls in, if any."""
        end: float | None = None
        for start, stop in self._stalls:
            if start <= now < stop and (end is None or stop > end):
                end = stop
        return end

    def decide(self, now: float, rng: random.Random) -> Decision:
        """Reset, drop or reply; a reply leaves at the end of a running stall, plus any slow delay."""
        if self._reset and (self._reset >= 1.0 or rng.random() < self._reset):
            return Decision(Action.RESET, now, False, False)
        if self._drop and (self._drop >= 1.0 or rng.random() < self._drop):
            return Decision(Action.DROP, now, False, False)
        release = now
        stalled = False
        end = self.stall_end(now) if self._stalls else None
        if end is not None:
            release = end
            stalled = True
        slowed = self._slow_s > 0.0
        return Decision(Action.REPLY, release + self._slow_s, stalled, slowed)


class FaultController:
    """The faults in force now, switchable at run time; ``active`` is the hot path's one check."""

    __slots__ = ("_plan", "active", "rng")

    def __init__(self, faults: Iterable[Fault] = (), *, now: float = 0.0, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self._plan = FaultPlan((), now)
        self.active = False
        self.set(faults, now)

    @property
    def plan(self) -> FaultPlan:
        return self._plan

    def set(self, faults: Iterable[Fault], now: float) -> None:
        """Replace the faults in force; stall timers count from ``now``."""
        self._plan = FaultPlan(faults, now)
        self.active = bool(self._plan.faults)

    def clear(self, now: float) -> None:
        self.set((), now)

    def specs(self) -> list[str]:
        return [fault.spec() for fault in self._plan.faults]

    def decide(self, now: float) -> Decision:
        return self._plan.decide(now, self.rng)
