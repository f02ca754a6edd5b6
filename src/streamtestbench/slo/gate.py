"""What decides a run's pass or fail after it ends: thresholds, a baseline comparison, a saved baseline.

Everything that can be wrong with the gate (an unknown metric, a missing baseline) is found by
``prepare_gate`` before any load is sent, and reported like any other invalid input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exit_codes import PASSED
from ..scenario.errors import Problem, ScenarioError
from ..scenario.model import Scenario
from .baselines import BaselineError, BaselineStore, resolve_baseline
from .compare import compare
from .knee import ladder_knee, render_knee
from .slo_sources import collect_thresholds
from .thresholds import (
    Threshold,
    ThresholdError,
    evaluate,
    exit_code,
    render_verdicts,
    verdicts_to_json,
)


@dataclass
class Gate:
    thresholds: list[Threshold] = field(default_factory=list)
    baseline: dict[str, Any] | None = None
    baseline_label: str = ""
    save_as: str | None = None


def prepare_gate(scenario: Scenario, *, slo_file: Path | None = None, extra: tuple[str, ...] = (),
                 use_defaults: bool = False, baseline: str | None = None, save_as: str | None = None) -> Gate:
    """Parse every threshold and load the baseline now, so a mistake stops the run before it starts."""
    try:
        thresholds = collect_thresholds(validation=scenario.validation, slo_file=slo_file,
                                        protocol=scenario.protocol.value.lower(), extra=extra,
                                        use_defaults=use_defaults)
    except ThresholdError as error:
        raise ScenarioError([Problem("<thresholds>", "thresholds", str(error),
                                     hint="see 'streamtestbench run --help' for the threshold forms")]) from None
    loaded = None
    if baseline is not None:
        try:
            loaded = resolve_baseline(baseline)
        except BaselineError as error:
            raise ScenarioError([Problem("<baseline>", "--baseline", str(error))]) from None
    return Gate(thresholds, loaded, baseline or "", save_as)


def abort_check(gate: Gate) -> Callable[[dict[str, Any]], str | None]:
    """For abortOnFail: the first failing (non-warning) threshold on the results so far, or None."""
    def check(results: dict[str, Any]) -> str | None:
        for verdict in evaluate(gate.thresholds, results):
            if verdict.fails_run:
                return f"threshold '{verdict.threshold}' failed"
        return None

    return check


def apply_gate(gate: Gate, results: dict[str, Any]) -> tuple[int, list[str]]:
    """Judge ``results`` (adding ``thresholds`` and ``comparison`` to them); the exit code and lines to print."""
    code = PASSED
    lines: list[str] = []
    if gate.thresholds:
        verdicts = evaluate(gate.thresholds, results)
        results["thresholds"] = verdicts_to_json(verdicts)
        lines.append("Thresholds:")
        lines.append(render_verdicts(verdicts))
        code = max(code, exit_code(verdicts))
    knee = ladder_knee(results, gate.thresholds)
    if knee is not None:
        results["ladder"] = knee
        lines.append(render_knee(knee))
    if gate.baseline is not None:
        comparison = compare(gate.baseline, results, base_label=gate.baseline_label, new_label="this run")
        results["comparison"] = comparison.to_json()
        lines.append(comparison.render_text())
        code = max(code, comparison.exit_code)
    if gate.save_as is not None and results.get("status") == "completed":
        path = BaselineStore().save(gate.save_as, results)
        lines.append(f"baseline '{gate.save_as}' saved to {path}")
    return code, lines
