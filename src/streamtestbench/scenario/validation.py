"""The scenario's ``validation`` block: the SLOs a run is judged against.

Seed 000 names the block without showing it; its keys follow seed 002's per-protocol
SLO names (``max_error_rate``, ``max_p95_latency_ms``, ``min_throughput_qps``) in the
file's camelCase, plus free-form threshold expressions such as ``"p99 < 250"``.
"""

from __future__ import annotations

from pydantic import Field

from .base import ScenarioModel, Seconds


class Validation(ScenarioModel):
    max_error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    max_p95_latency_ms: float | None = Field(default=None, gt=0)
    max_p99_latency_ms: float | None = Field(default=None, gt=0)
    min_throughput_qps: float | None = Field(default=None, ge=0)
    min_success_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    thresholds: list[str] = Field(default_factory=list)
    abort_on_fail: bool = False
    abort_delay: Seconds = Field(default=0.0, ge=0)
