from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from streamtestbench.outputs.report import ReportInputError, generate_reports


def test_generate_all(demo_results: dict[str, Any], tmp_path: Path) -> None:
    src = tmp_path / "results.json"
    src.write_text(json.dumps(demo_results), encoding="utf-8")
    out = generate_reports(
        src, tmp_path / "r.html", baseline_path=src, junit_path=tmp_path / "j.xml", csv_path=tmp_path / "s.csv"
    )
    assert [p.name for p in out] == ["r.html", "j.xml", "s.csv"]
    assert "compared with baseline" in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert ET.parse(tmp_path / "j.xml").getroot().tag == "testsuites"
    assert len((tmp_path / "s.csv").read_text(encoding="utf-8").splitlines()) == len(demo_results["timeSeries"]) + 1


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match="cannot read"):
        generate_reports(tmp_path / "missing.json", tmp_path / "r.html")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    with pytest.raises(ReportInputError, match="not valid JSON"):
        generate_reports(bad, tmp_path / "r.html")
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ReportInputError, match="not a results document"):
        generate_reports(bad, tmp_path / "r.html")
