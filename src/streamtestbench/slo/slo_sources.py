"""Where a run's thresholds come from: the scenario's validation block, SLO files, seed 002's defaults."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .metric_registry import as_number
from .thresholds import Threshold, ThresholdError, format_number, parse_thresholds

# Seed 002's default SLOs per protocol.
DEFAULT_SLOS: dict[str, dict[str, float]] = {
    "websocket": {"max_error_rate": 0.01, "max_p95_latency_ms": 100.0, "min_throughput_qps": 10.0},
    "mqtt": {"max_error_rate": 0.02, "max_p95_latency_ms": 200.0, "min_throughput_qps": 5.0},
    "http": {"max_error_rate": 0.005, "max_p95_latency_ms": 300.0, "min_throughput_qps": 20.0},
}

# SLO key (snake_case) -> (metric, operator)
_SLO_KEYS: dict[str, tuple[str, str]] = {
    "max_error_rate": ("error_rate", "<="),
    "max_p95_latency_ms": ("p95", "<="),
    "max_p99_latency_ms": ("p99", "<="),
    "min_throughput_qps": ("throughput", ">="),
    "min_success_rate": ("success_rate", ">="),
}
_IGNORED_KEYS = {"abort_on_fail", "abort_delay", "thresholds"}


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def thresholds_from_slo_mapping(data: Mapping[str, Any], *, source: str = "slo") -> list[Threshold]:
    """Thresholds from one SLO block: ``{max_error_rate: .., max_p95_latency_ms: .., thresholds: [..]}``.

    Keys may be snake_case (seed 002) or camelCase (the scenario file); unknown keys are
    an error so a typo cannot silently disable an SLO.
    """
    out: list[Threshold] = []
    for raw_key, value in data.items():
        key = _snake(str(raw_key))
        if key in _SLO_KEYS:
            if value is None:
                continue
            num = as_number(value)
            if num is None:
                raise ThresholdError(f"{source}: {raw_key} must be a number, got {value!r}")
            metric, op = _SLO_KEYS[key]
            out.append(Threshold(f"{metric} {op} {format_number(num)}", metric, op, num, source=source))
        elif key == "thresholds":
            if value is None:
                continue
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise ThresholdError(f"{source}: thresholds must be a list of expressions")
            out.extend(parse_thresholds([str(v) for v in value], source=source))
        elif key in _IGNORED_KEYS:
            continue
        else:
            raise ThresholdError(
                f"{source}: unknown SLO key {raw_key!r}; allowed: {', '.join(sorted([*_SLO_KEYS, 'thresholds']))}"
            )
    return out


def thresholds_from_validation(validation: Any) -> list[Threshold]:
    """Thresholds from a scenario's ``validation`` block (the pydantic model or its dict)."""
    if validation is None:
        return []
    if isinstance(validation, Mapping):
        data: Mapping[str, Any] = validation
    elif hasattr(validation, "model_dump"):
        data = validation.model_dump()
    else:
        raise ThresholdError(f"validation: expected a mapping or Validation model, got {type(validation).__name__}")
    return thresholds_from_slo_mapping(data, source="validation")


def default_slo_thresholds(protocol: str) -> list[Threshold]:
    """Seed 002's default SLOs for ``protocol`` (``websocket``/``mqtt``/``http``); [] if none."""
    slo = DEFAULT_SLOS.get(protocol.lower())
    return [] if slo is None else thresholds_from_slo_mapping(slo, source=f"default-slo:{protocol.lower()}")


def load_slo_file(path: str | Path, protocol: str | None = None) -> list[Threshold]:
    """Thresholds from a YAML/JSON SLO file.

    Accepted shapes: seed 002's per-protocol mapping (``{websocket: {...}, mqtt: {...}}``,
    the block for ``protocol`` is used, falling back to a ``default`` block), or a single
    flat SLO block (``{max_error_rate: .., thresholds: [..]}``).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ThresholdError(f"cannot read SLO file {str(p)!r}: {exc.strerror or exc}") from exc
    try:
        # JSON is a subset of YAML, but json.loads gives better messages for .json files
        data: Any = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ThresholdError(f"SLO file {str(p)!r} is not valid JSON/YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ThresholdError(f"SLO file {str(p)!r}: expected a mapping at the top level")
    source = f"slo-file:{p.name}"
    flat_keys = set(_SLO_KEYS) | {"thresholds"}
    if any(_snake(str(k)) in flat_keys for k in data):
        return thresholds_from_slo_mapping(data, source=source)
    if protocol is None:
        raise ThresholdError(f"SLO file {str(p)!r} is per protocol ({', '.join(map(str, data))}); name the protocol")
    proto = protocol.lower()
    lowered = {str(k).lower(): v for k, v in data.items()}
    block = lowered.get(proto, lowered.get("default"))
    if block is None:
        return []
    if not isinstance(block, Mapping):
        raise ThresholdError(f"SLO file {str(p)!r}: block {proto!r} must be a mapping")
    return thresholds_from_slo_mapping(block, source=f"{source}:{proto}")


def collect_thresholds(
    *,
    validation: Any = None,
    slo_file: str | Path | None = None,
    protocol: str | None = None,
    extra: Iterable[str] = (),
    use_defaults: bool = False,
) -> list[Threshold]:
    """Every threshold a run is judged against, parsed up front (call it BEFORE the run).

    Sources, in order: the scenario's ``validation`` block, an SLO file (per-protocol or
    flat), ``extra`` expressions (e.g. repeated ``--threshold`` options) and, when
    ``use_defaults`` is set and nothing else gave a threshold, seed 002's defaults for
    ``protocol``.  Raises :class:`ThresholdError` on any bad expression or unknown metric.
    """
    out = thresholds_from_validation(validation)
    if slo_file is not None:
        out.extend(load_slo_file(slo_file, protocol))
    out.extend(parse_thresholds(extra, source="cli"))
    if use_defaults and not out and protocol is not None:
        out.extend(default_slo_thresholds(protocol))
    return out
