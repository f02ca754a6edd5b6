"""The HTML report opened in headless Chromium: charts drawn, no console errors, no request leaves the file.

Needs a Chromium binary (`bash scripts/install-browser.sh`). A missing browser FAILS these tests on
purpose: the report's rendering is otherwise unchecked.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from streamtestbench.outputs.report.html import CHART_IDS, write_html
from tests.outputs.browser import INSTALL_HINT, DomResult, dump_dom, find_chromium, screenshot

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        pytest.fail(f"no Chromium binary found: {INSTALL_HINT}", pytrace=False)
    return binary


def _assert_clean(result: DomResult) -> None:
    marker = result.marker
    assert marker.get("done") is True, f"render marker missing; stderr tail:\n{result.stderr[-3000:]}"
    assert marker["errors"] == [], marker["errors"]
    assert marker["csp"] == [], f"blocked requests: {marker['csp']}"
    assert marker["resources"] == 0, "the page loaded a resource"
    assert result.console == [], "\n".join(result.console)
    assert set(marker["charts"]) == set(CHART_IDS)
    for chart_id, info in marker["charts"].items():
        assert info["width"] > 100 and info["height"] > 100, (chart_id, info)
        assert info["pixels"] > 1000, f"{chart_id} drew almost nothing: {info}"


def test_report_renders_in_chromium(chromium: str, rich_results: dict[str, Any], demo_results: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = write_html(rich_results, ARTIFACTS / "report.html", baseline=demo_results)
    result = dump_dom(chromium, page)
    _assert_clean(result)
    # The hostile scenario name stayed text.
    assert "<script>alert(" not in result.dom
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    screenshot(chromium, page, shot)
    head = shot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert (width, height) == (1280, 5200)


def test_report_without_baseline_renders(chromium: str, demo_results: dict[str, Any], tmp_path: Path) -> None:
    _assert_clean(dump_dom(chromium, write_html(demo_results, tmp_path / "plain.html")))


def test_marker_catches_requests_and_errors(chromium: str, demo_results: dict[str, Any], tmp_path: Path) -> None:
    """Negative control: a page that tries to fetch and throws is reported, so the clean result means something."""
    page = write_html(demo_results, tmp_path / "bad.html")
    text = page.read_text(encoding="utf-8")
    text = text.replace(
        "<body>",
        "<body><img src='https://example.invalid/x.png' alt=''><script>throw new Error('boom-marker')</script>",
        1,
    )
    page.write_text(text, encoding="utf-8")
    result = dump_dom(chromium, page)
    assert result.marker.get("done") is True
    assert any("img-src" in v for v in result.marker["csp"]), result.marker
    assert any("boom-marker" in e for e in result.marker["errors"]), result.marker
    assert any("boom-marker" in line for line in result.console), result.console
