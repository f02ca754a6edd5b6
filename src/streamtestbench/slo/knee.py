"""The capacity ladder's knee: the last step that held its SLO and the step where it broke.

A progressive run (seed 001's 100 -> 1K -> 5K) records each step's sustain stage apart; each is
judged by the run's latency and error thresholds (or seed 002's defaults for the protocol).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .slo_sources import default_slo_thresholds
from .thresholds import Threshold, evaluate

STAGE_METRICS = frozenset({"avg", "max", "p50", "p90", "p95", "p99", "p99.9", "error_rate", "success_rate",
                           "uncorrected_p95", "uncorrected_p99"})
"""Metrics a single stage can be judged by (throughput depends on the step's own size)."""
SUSTAIN_SUFFIX = " sustain"


def ladder_knee(results: dict[str, Any], thresholds: list[Threshold]) -> dict[str, Any] | None:
    """Per-step verdicts with the last step that held and the first that broke; None for other runs."""
    steps = [stage["name"] for stage in results.get("stages", [])
             if isinstance(stage.get("name"), str) and stage["name"].endswith(SUSTAIN_SUFFIX)]
    if not steps:
        return None
    rules = [t for t in thresholds if t.metric in STAGE_METRICS and t.name is None and t.stage is None
             and t.fails_run]
    if not rules:
        rules = [t for t in default_slo_thresholds(str(results.get("protocol", ""))) if t.metric in STAGE_METRICS]
    rows = []
    last_held: str | None = None
    broke_at: str | None = None
    for stage in steps:
        verdicts = evaluate([dataclasses.replace(rule, stage=stage) for rule in rules], results)
        held = all(verdict.passed for verdict in verdicts)
        step = stage[: -len(SUSTAIN_SUFFIX)]
        rows.append({"step": step, "held": held,
                     "failed": [verdict.threshold for verdict in verdicts if not verdict.passed]})
        if held and broke_at is None:
            last_held = step
        elif not held and broke_at is None:
            broke_at = step
    return {"rules": [rule.text for rule in rules], "steps": rows, "lastHeld": last_held, "brokeAt": broke_at}


def render_knee(knee: dict[str, Any]) -> str:
    lines = ["Capacity ladder:"]
    for row in knee["steps"]:
        mark = "held " if row["held"] else "BROKE"
        detail = "" if row["held"] else f"  ({'; '.join(row['failed'])})"
        lines.append(f"  {mark} {row['step']}{detail}")
    lines.append(f"  last step that held: {knee['lastHeld'] or 'none'}; broke at: {knee['brokeAt'] or 'none'}")
    return "\n".join(lines)
