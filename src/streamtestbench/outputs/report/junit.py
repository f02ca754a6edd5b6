"""JUnit XML (Ant/Jenkins flavour) for CI servers.

One ``testsuite`` holding a case for the run status and one case per threshold verdict
(``{threshold, level, observed, passed}``). A failed verdict of level error becomes a ``failure``;
a failed warning-level verdict stays a passing case with the detail in its ``system-out``.
"""

from __future__ import annotations

import datetime as _dt
import json
import socket
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

WARNING_LEVELS = frozenset({"warn", "warning", "warnings", "info"})
OK_STATUSES = frozenset({"completed", "passed", "ok", "success", "succeeded"})
CLASSNAME_PREFIX = "streamtestbench"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | bool):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def _clean(s: str) -> str:
    """Drop characters XML 1.0 cannot carry (control characters other than tab/newline/CR)."""
    return "".join(ch for ch in s if ch in "\t\n\r" or (ord(ch) >= 0x20 and ord(ch) not in (0xFFFE, 0xFFFF)))


def _timestamp(results: Mapping[str, Any]) -> str:
    start = results.get("startTime")
    if isinstance(start, int | float) and not isinstance(start, bool):
        try:
            return _dt.datetime.fromtimestamp(start / 1000.0, tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        except (OverflowError, OSError, ValueError):
            pass
    return _dt.datetime.now(tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _duration(results: Mapping[str, Any]) -> float:
    d = results.get("durationSeconds")
    if isinstance(d, int | float) and not isinstance(d, bool) and d >= 0:
        return float(d)
    return 0.0


def build_junit(results: Mapping[str, Any], hostname: str | None = None) -> ET.Element:
    scenario = _clean(_text(results.get("scenarioName")) or "scenario")
    # CI servers split classname on "." into packages: keep the scenario one level.
    classname = f"{CLASSNAME_PREFIX}.{scenario.replace('.', '_')}"
    cases: list[ET.Element] = []
    failures = 0
    warnings_out: list[str] = []

    # Run status case.
    status = _text(results.get("status")) or "unknown"
    case = ET.Element("testcase", name="run status", classname=classname, time=f"{_duration(results):.3f}")
    if status.lower() not in OK_STATUSES:
        failures += 1
        f = ET.SubElement(case, "failure", message=_clean(f"run status: {status}"), type="RunStatus")
        detail = {k: results.get(k) for k in ("status", "exitCode", "notes", "errors") if k in results}
        f.text = _clean(json.dumps(detail, indent=2, sort_keys=True, default=str))
    cases.append(case)

    thresholds = results.get("thresholds")
    if isinstance(thresholds, list):
        for i, v in enumerate(thresholds):
            if not isinstance(v, Mapping):
                continue
            name = _clean(_text(v.get("threshold")) or f"threshold {i + 1}")
            level = _text(v.get("level")).lower() or "error"
            observed = _clean(_text(v.get("observed")))
            passed = v.get("passed") is True
            tc = ET.Element("testcase", name=f"threshold: {name}", classname=f"{classname}.thresholds", time="0")
            if not passed:
                msg = f"{name} not met (observed {observed}, level {level})"
                if level in WARNING_LEVELS:
                    out = ET.SubElement(tc, "system-out")
                    out.text = f"WARNING: {msg}"
                    warnings_out.append(msg)
                else:
                    failures += 1
                    f = ET.SubElement(tc, "failure", message=msg, type="ThresholdFailed")
                    f.text = _clean(json.dumps(dict(v), indent=2, sort_keys=True, default=str))
            cases.append(tc)

    suites = ET.Element("testsuites", name="streamtestbench", tests=str(len(cases)), failures=str(failures))
    suites.set("errors", "0")
    suites.set("time", f"{_duration(results):.3f}")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=classname,
        package=CLASSNAME_PREFIX,
        id="0",
        timestamp=_timestamp(results),
        hostname=_clean(hostname if hostname is not None else socket.gethostname()) or "localhost",
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{_duration(results):.3f}",
    )
    props = ET.SubElement(suite, "properties")
    for key in ("protocol", "status", "throughputQps", "errorRate", "p99LatencyMs", "totalMessages"):
        if key in results:
            ET.SubElement(props, "property", name=key, value=_clean(_text(results.get(key))))
    suite.extend(cases)
    so = ET.SubElement(suite, "system-out")
    so.text = "\n".join(f"WARNING: {w}" for w in warnings_out)
    ET.SubElement(suite, "system-err").text = ""
    return suites


def render_junit(results: Mapping[str, Any], hostname: str | None = None) -> str:
    root = build_junit(results, hostname)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(results: Mapping[str, Any], path: str | Path, hostname: str | None = None) -> Path:
    p = Path(path)
    p.write_text(render_junit(results, hostname), encoding="utf-8")
    return p
