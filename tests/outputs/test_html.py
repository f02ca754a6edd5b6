from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from streamtestbench.outputs.report.html import CHART_IDS, CSP, render_html, write_html


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def _parse(text: str) -> _Collector:
    c = _Collector()
    c.feed(text)
    return c


def test_self_contained_and_locked_down(rich_results: dict[str, Any], demo_results: dict[str, Any]) -> None:
    text = render_html(rich_results, baseline=demo_results)
    doc = _parse(text)
    metas = [a for t, a in doc.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert [m.get("content") for m in metas] == [CSP]
    for tag, attrs in doc.tags:
        # Nothing is loaded from anywhere: no src/href/srcset/data attributes, no <link>/<iframe>.
        assert tag not in ("link", "iframe", "img", "object", "embed", "base"), tag
        assert not {"src", "href", "srcset", "data", "action", "poster"} & set(attrs), (tag, attrs)
    assert "Chart.js v4" in text and "sourceMappingURL" not in text
    assert "@import" not in text and "url(" not in text.split("<script", 1)[0]
    canvases = [a.get("id") for t, a in doc.tags if t == "canvas"]
    assert tuple(canvases) == CHART_IDS


def test_all_text_is_escaped(rich_results: dict[str, Any]) -> None:
    text = render_html(rich_results)
    assert "<script>alert" not in text and "<img src=x" not in text and "<b>closed</b>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "p95 &lt; 1ms &lt;x&gt;" in text
    doc = _parse(text)
    data_scripts = [
        s
        for (t, a), s in zip([x for x in doc.tags if x[0] == "script"], doc.scripts, strict=True)
        if a.get("type") == "application/json"
    ]
    assert len(data_scripts) == 1 and "<" not in data_scripts[0]
    data = json.loads(data_scripts[0])
    assert data["errors"] == {"timeout": 3, "<b>closed</b>": 1}


def test_sections_present(rich_results: dict[str, Any], demo_results: dict[str, Any], tmp_path: Path) -> None:
    path = write_html(rich_results, tmp_path / "r.html", baseline=demo_results)
    text = path.read_text(encoding="utf-8")
    for section in ("summary", "thresholds", "latency", "throughput", "connections", "errors", "stages", "comparison"):
        assert f"<section id='{section}'>" in text
    # Verdicts: one pass, one warning-level failure, one failure.
    assert re.findall(r"<td class='verdict'>(\w+)</td>", text) == ["PASS", "WARN", "FAIL"]
    assert "stage 1" in text and "stage 2" in text and "+3.1%" in text
    data = json.loads(re.search(r"id='stb-data'>(.*?)</script>", text, re.S).group(1))  # type: ignore[union-attr]
    assert data["baselineName"] == demo_results["scenarioName"]
    run = data["run"]
    assert len(run["x"]) == len(demo_results["timeSeries"])
    assert run["labels"][0] == "all messages" and "connect" in run["labels"]
    assert set(run["latency"]["all messages"]) == {"corrected", "uncorrected"}
    assert run["active"] == [e["active_connections"] for e in demo_results["timeSeries"]]


def test_without_thresholds_or_baseline(demo_results: dict[str, Any]) -> None:
    text = render_html(demo_results)
    assert "<section id='thresholds'>" not in text and "<section id='comparison'>" not in text
    assert "baseline" not in json.loads(re.search(r"id='stb-data'>(.*?)</script>", text, re.S).group(1))  # type: ignore[union-attr]
    # Degenerate input still renders.
    assert "<canvas id='chart-latency'" in render_html({})


def test_mixed_runs_show_per_protocol_rows_and_counter_groups(demo_results: dict[str, Any]) -> None:
    row = {"totalMessages": 10, "failedMessages": 1, "errorRate": 0.1, "throughputQps": 5.0,
           "latencyMs": {"p50": 1.5, "p95": 2.5, "p99": 3.5}}
    results = {**demo_results, "protocols": {"http": row, "<mqtt>": row},
               "httpStatusClasses": {"2xx": 9, "5xx": 1}, "injectedFailures": {"duplicate": 4},
               "delivery": {"lost": 2}}
    text = render_html(results)
    assert "<h3>Per protocol</h3>" in text and "&lt;mqtt&gt;" in text and "<mqtt>" not in text
    for title in ("HTTP status classes", "Injected failures", "Delivery (loss, duplicates, reordering)"):
        assert f"<h3>{title}</h3>" in text
    assert "Per protocol" not in render_html(demo_results)
