from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from streamtestbench.outputs.report.junit import render_junit, write_junit
from tests.outputs.junit_schema import Schema

XSD = Path(__file__).parent / "fixtures" / "junit-ant-subset.xsd"


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema(XSD)


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name", ""): c for c in root.iter("testcase")}


def test_demo_run_is_one_passing_case(demo_results: dict[str, Any], schema: Schema, tmp_path: Path) -> None:
    path = write_junit(demo_results, tmp_path / "junit.xml", hostname="ci-host")
    root = ET.parse(path).getroot()
    assert schema.validate(root) == []
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "1" and suite.get("failures") == "0" and suite.get("hostname") == "ci-host"
    assert suite.get("timestamp") == "2026-11-21T12:56:31"
    case = _cases(root)["run status"]
    assert case.find("failure") is None


def test_threshold_verdicts(rich_results: dict[str, Any], schema: Schema) -> None:
    root = ET.fromstring(render_junit(rich_results))
    assert schema.validate(root) == []
    cases = _cases(root)
    assert set(cases) == {
        "run status",
        "threshold: p99 < 50ms",
        "threshold: error_rate < 0.01",
        "threshold: p95 < 1ms <x>",
    }
    assert cases["threshold: p99 < 50ms"].find("failure") is None
    warn = cases["threshold: error_rate < 0.01"]
    assert warn.find("failure") is None
    out = warn.find("system-out")
    assert out is not None and "WARNING" in (out.text or "") and "0.02" in (out.text or "")
    failed = cases["threshold: p95 < 1ms <x>"].find("failure")
    assert failed is not None and "1.32" in failed.get("message", "") and failed.get("type") == "ThresholdFailed"
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "0")
    assert (root.get("tests"), root.get("failures")) == ("4", "1")


def test_failed_run_status_and_hostile_text(demo_results: dict[str, Any], schema: Schema) -> None:
    demo_results["status"] = "aborted"
    demo_results["scenarioName"] = "bad \x00\x07 name ]]> <&>"
    text = render_junit(demo_results)
    root = ET.fromstring(text)  # parses: control characters dropped, markup escaped
    assert schema.validate(root) == []
    failure = _cases(root)["run status"].find("failure")
    assert failure is not None and failure.get("type") == "RunStatus" and "aborted" in failure.get("message", "")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "streamtestbench.bad  name ]]> <&>"


GOOD_SUITE = ("<testsuites><testsuite name='s' timestamp='2026-01-01T00:00:00' hostname='h' tests='1' failures='0'"
              " errors='0' time='1'><properties/><testcase name='a' classname='c' time='0'/>"
              "<system-out/><system-err/></testsuite></testsuites>")


@pytest.mark.parametrize(("broken", "named"), [
    (GOOD_SUITE.replace("<properties/>", ""), "properties"),
    (GOOD_SUITE.replace("<system-err/>", ""), "system-err"),
    (GOOD_SUITE.replace("2026-01-01T00:00:00", "2026-01-01 00:00"), "timestamp"),
    (GOOD_SUITE.replace("tests='1'", "tests='x'"), "tests"),
    (GOOD_SUITE.replace("time='0'/>", "time='0'><bogus/></testcase>"), "bogus"),
])
def test_validator_rejects_broken_documents(schema: Schema, broken: str, named: str) -> None:
    assert schema.validate(ET.fromstring(GOOD_SUITE)) == []
    errors = "\n".join(schema.validate(ET.fromstring(broken)))
    assert named in errors
