"""Per-message failure injection (seed 000's ``failureInjection``), decided from the run's seeded rng.

Every probability is per message: before each send the caller asks, in this order,
:meth:`Injector.should_drop` (drop the connection now, reconnect after ``reconnect_delay_s``, then
send), :meth:`Injector.delay_s` (wait before sending), :meth:`Injector.mutate_bytes` (schema drift)
and :meth:`Injector.duplicates` (extra copies after the original). When every probability is 0,
``any_per_message`` is False and callers skip all of this, so an idle injector costs nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson

from ..engine.recording import Recorder
from ..scenario.enums import MutationType
from ..scenario.injection import FailureInjection
from .counters import COUNTS
from .schema_drift import MISSING, Path, apply_mutation, parse_path


@dataclass(frozen=True, slots=True)
class CompiledMutation:
    kind: MutationType
    path: Path
    new_value: Any
    new_name: str | None
    counter: str


class Injector:
    def __init__(self, config: FailureInjection, rng: random.Random, recorder: Recorder) -> None:
        self._random = rng.random
        self._randint = rng.randint
        self._recorder = recorder
        delays = config.network_delays if config.network_delays and config.network_delays.enabled else None
        self.delay_p = delays.probability if delays else 0.0
        self._delay_ms = (delays.range_ms.start, delays.range_ms.end_inclusive) if delays else (0, 0)
        dups = config.duplicate_messages if config.duplicate_messages and config.duplicate_messages.enabled \
            else None
        self.duplicate_p = dups.probability if dups else 0.0
        self._max_duplicates = dups.max_duplicates if dups else 1
        drift = config.schema_drift if config.schema_drift and config.schema_drift.enabled else None
        self.drift_p = drift.probability if drift else 0.0
        self._mutations = tuple(
            CompiledMutation(m.type, parse_path(m.field_path), m.new_value, m.new_name, COUNTS.schema_drift_of(m.type))
            for m in (drift.mutations if drift else ()))
        drops = config.connection_drops if config.connection_drops and config.connection_drops.enabled else None
        self.drop_p = drops.probability if drops else 0.0
        self.reconnect_delay_s = drops.reconnect_delay_ms / 1000 if drops else 0.0
        self.any_per_message = any(p > 0 for p in (self.delay_p, self.duplicate_p, self.drift_p, self.drop_p))

    @classmethod
    def from_scenario(cls, config: FailureInjection | None, rng: random.Random,
                      recorder: Recorder) -> Injector | None:
        """An injector, or None when injection is absent, disabled, or has no per-message fault."""
        if config is None or not config.enabled:
            return None
        blocks = (config.network_delays, config.duplicate_messages, config.schema_drift, config.connection_drops)
        if not any(block is not None and block.enabled for block in blocks):
            return None
        return cls(config, rng, recorder)

    def delay_s(self) -> float:
        """Seconds to hold this message back before sending it (0.0 for most messages)."""
        if self.delay_p and self._random() < self.delay_p:
            self._recorder.count(COUNTS.network_delay)
            return self._randint(*self._delay_ms) / 1000
        return 0.0

    def duplicates(self) -> int:
        """How many extra copies of this message to send (1..maxDuplicates when drawn, else 0)."""
        if self.duplicate_p and self._random() < self.duplicate_p:
            copies = self._randint(1, self._max_duplicates)
            self._recorder.count(COUNTS.duplicate, copies)
            return copies
        return 0

    def should_drop(self) -> bool:
        """Whether to drop the connection abruptly before this message (counted when True)."""
        if self.drop_p and self._random() < self.drop_p:
            self._recorder.count(COUNTS.connection_drop)
            return True
        return False

    def _drifts(self) -> CompiledMutation | None:
        if self.drift_p and self._random() < self.drift_p:
            mutations = self._mutations
            return mutations[0] if len(mutations) == 1 else mutations[self._randint(0, len(mutations) - 1)]
        return None

    def _apply(self, mutation: CompiledMutation, message: Any) -> Any:
        mutated = apply_mutation(message, mutation.kind, mutation.path, mutation.new_value, mutation.new_name)
        if mutated is MISSING:
            self._recorder.count(COUNTS.schema_drift_no_path)
            return MISSING
        self._recorder.count(COUNTS.schema_drift)
        self._recorder.count(mutation.counter)
        return mutated

    def mutate(self, message: dict[str, Any]) -> dict[str, Any]:
        """``message`` with one of the configured mutations applied, when drift is drawn; never changed in place."""
        mutation = self._drifts()
        if mutation is None:
            return message
        mutated = self._apply(mutation, message)
        return message if mutated is MISSING else dict(mutated)

    def mutate_bytes(self, payload: bytes) -> bytes:
        """The encoded form of :meth:`mutate`: JSON objects and arrays are mutated, other payloads pass."""
        mutation = self._drifts()
        if mutation is None:
            return payload
        try:
            message = orjson.loads(payload)
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict | list):
            self._recorder.count(COUNTS.schema_drift_no_path)
            return payload
        mutated = self._apply(mutation, message)
        return payload if mutated is MISSING else orjson.dumps(mutated)
