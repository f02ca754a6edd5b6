"""``streamtestbench validate`` and ``generate`` over scenario files: exit codes, messages, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ._support import ENV_NAMES, SEED000, as_json, base, line_of
from .malformed import CASES, Case

cli = pytest.importorskip("streamtestbench.cli")
INVALID_INPUT = 2


def _invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli.main, list(args), env=env, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}:\n{result.output}")
    return result.exit_code, result.stdout, result.stderr


def _case_file(tmp_path: Path, case: Case) -> Path:
    path = tmp_path / f"{case.id}{Path(case.source).suffix}"
    path.write_text(case.text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_validate_rejects_malformed_file_with_exit_code_2(case: Case, tmp_path: Path,
                                                          clean_env: pytest.MonkeyPatch) -> None:
    path = _case_file(tmp_path, case)
    for name, value in case.env:
        clean_env.setenv(name, value)
    code, out, err = _invoke("validate", str(path))
    assert code == INVALID_INPUT
    assert "Traceback" not in out + err
    assert f"✗ {path}" in err
    assert case.message in err
    if case.hint:
        assert f"hint: {case.hint}" in err
    line = case.expected_line()
    if isinstance(line, int):
        assert f"{path}:{line}:" in err


def test_validate_valid_file_prints_the_plan(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text(as_json(base(rates={"messagesPerSecond": 2, "rampUpSeconds": 10})))
    code, out, err = _invoke("validate", str(path))
    assert code == 0, err
    assert f"✓ {path}" in out
    assert "ramp-up" in out and "steady" in out


def test_validate_quiet_prints_only_the_verdict(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text(as_json(base()))
    code, out, _ = _invoke("validate", "--quiet", str(path))
    assert code == 0
    assert out.strip() == f"✓ {path}"


def test_validate_reports_every_file_and_fails_if_any_is_bad(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(as_json(base()))
    bad.write_text(as_json(base(connections=0)))
    code, out, err = _invoke("validate", "-q", str(bad), str(good))
    assert code == INVALID_INPUT
    assert f"✓ {good}" in out
    assert f"✗ {bad}" in err and f"{bad}:6: connections:" in err


def test_validate_missing_file(tmp_path: Path) -> None:
    code, _, err = _invoke("validate", str(tmp_path / "nope.json"))
    assert code == INVALID_INPUT
    assert "file not found" in err and "Traceback" not in err


def test_validate_seed_examples_verbatim() -> None:
    code, out, err = _invoke("validate", str(SEED000 / "mobile_sync_test.json"),
                             str(SEED000 / "mqtt_graphql_load.json"), str(SEED000 / "basic_structure.filled.json"))
    assert code == 0, err
    assert out.count("✓") == 3


def test_validate_seed_basic_structure_with_placeholders_fails_cleanly() -> None:
    path = SEED000 / "basic_structure.verbatim.txt"
    code, _, err = _invoke("validate", str(path))
    assert code == INVALID_INPUT
    assert f"{path}:15: invalid JSON: Expecting property name enclosed in double quotes" in err


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_generate_then_validate_every_example(fmt: str, tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    code, out, err = _invoke("generate", "--type", "all", "--output", str(tmp_path), "--format", fmt)
    assert code == 0, err
    files = sorted(tmp_path.glob(f"*.{fmt}"))
    assert len(files) == out.count("wrote ") >= 20
    code, out, err = _invoke("validate", "-q", *map(str, files))
    assert code == 0, err
    assert out.count("✓") == len(files)


def test_generate_one_kind(tmp_path: Path) -> None:
    code, _out, _ = _invoke("generate", "--type", "mqtt", "--output", str(tmp_path))
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mqtt_graphql_load.json", "mqtt_pubsub_flow.json",
                                                          "mqtt_qos1.json"]


def test_validate_uses_environment_overrides(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    _invoke("generate", "--type", "websocket", "--output", str(tmp_path))
    clean_env.setenv("CONNECTIONS", "250")
    clean_env.setenv("MESSAGES", "30")
    code, out, _ = _invoke("validate", str(tmp_path / "agents_quick.json"))
    assert code == 0
    assert "7,500" in out  # 250 connections x 30 messages


def test_validate_survives_a_bracket_key(tmp_path: Path) -> None:
    """Was an IndexError traceback."""
    path = tmp_path / "bracket.json"
    text = as_json({**base(), "[": 1})
    path.write_text(text)
    code, _, err = _invoke("validate", str(path))
    assert code == INVALID_INPUT
    line = line_of(text, '"["')
    assert f"{path}:{line}: [: unknown field '['" in err


def test_installed_entry_point_exits_2_without_traceback(tmp_path: Path) -> None:
    """The real console script, as CI runs it."""
    script = Path(sys.executable).with_name("streamtestbench")
    if not script.exists():
        pytest.skip("console script not installed")
    path = tmp_path / "bad.json"
    path.write_text(as_json(base(rates={"messagesPerSeconds": 10.0})))
    env = {key: value for key, value in os.environ.items() if key not in ENV_NAMES}
    done = subprocess.run([str(script), "validate", str(path)], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    assert done.returncode == INVALID_INPUT
    assert "Traceback" not in done.stderr
    assert "hint: did you mean 'messagesPerSecond'?" in done.stderr
