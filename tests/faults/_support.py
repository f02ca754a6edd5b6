from __future__ import annotations

from collections import Counter

from streamtestbench.engine.recording import NullRecorder


class CountingRecorder(NullRecorder):
    """Keeps only the counters, which is where every injection is recorded."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()

    def count(self, name: str, value: int = 1) -> None:
        self.counters[name] += value
