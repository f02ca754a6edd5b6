"""METRICS: a device's periodic performance gauges (CPU, memory, latency, battery, frame rate)."""

from __future__ import annotations

from typing import Any

from .base import PayloadGenerator

NETWORKS = ("wifi", "wifi", "wifi", "5g", "4g", "4g", "3g")
"""Weighted by repetition: most phones report from wifi."""


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


class MetricsGenerator(PayloadGenerator):
    kind = "metrics"

    def body(self, vu: int, seq: int) -> dict[str, Any]:
        identity = self.identities.of(vu)
        rng = self.rng
        p50 = rng.lognormvariate(3.4, 0.35)  # ~30 ms median, long right tail like real request latency
        return {
            "device_id": identity.device_id,
            "session_id": identity.session_id,
            "seq": seq,
            "cpu_percent": round(_clamp(rng.gauss(35.0, 12.0), 0.5, 100.0), 1),
            "memory_mb": round(_clamp(rng.gauss(412.0, 60.0), 64.0, 4096.0), 1),
            "memory_percent": round(_clamp(rng.gauss(48.0, 9.0), 1.0, 100.0), 1),
            "latency_ms": {"p50": round(p50, 2), "p95": round(p50 * rng.uniform(2.0, 3.5), 2),
                           "max": round(p50 * rng.uniform(4.0, 9.0), 2)},
            "battery_percent": rng.randint(5, 100),
            "network": rng.choice(NETWORKS),
            "fps": round(_clamp(rng.gauss(58.0, 3.0), 10.0, 120.0), 1),
            "dropped_frames": rng.randint(0, 6),
        }
