"""SLO thresholds, noise-aware run comparison and named baselines (issue 6)."""

from .baselines import BaselineError, BaselineInfo, BaselineStore, load_results_file, resolve_baseline
from .compare import CompareRules, Comparison, MetricChange, compare
from .slo_sources import collect_thresholds, default_slo_thresholds, load_slo_file, thresholds_from_validation
from .thresholds import (
    Threshold,
    ThresholdError,
    Verdict,
    evaluate,
    exit_code,
    parse_threshold,
    parse_thresholds,
    render_verdicts,
    verdicts_to_json,
)

__all__ = [
    "BaselineError",
    "BaselineInfo",
    "BaselineStore",
    "CompareRules",
    "Comparison",
    "MetricChange",
    "Threshold",
    "ThresholdError",
    "Verdict",
    "collect_thresholds",
    "compare",
    "default_slo_thresholds",
    "evaluate",
    "exit_code",
    "load_results_file",
    "load_slo_file",
    "parse_threshold",
    "parse_thresholds",
    "render_verdicts",
    "resolve_baseline",
    "thresholds_from_validation",
    "verdicts_to_json",
]
