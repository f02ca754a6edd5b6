"""How `run` turns options and scenario fields into the engine's RunOptions (no load is sent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from streamtestbench.cli import main
from streamtestbench.engine import runner


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake_run(scenario: Any, plan: Any, **kwargs: Any) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(runner, "run_plan_from_cli", fake_run)
    return seen


def _scenario(tmp_path: Path, **executor: Any) -> Path:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"name": "g", "protocol": "WEBSOCKET", "endpoint": "ws://127.0.0.1:9/ws",
                                "executor": {"type": "constant-vus", "vus": 1, "duration": "1s", **executor},
                                "flow": [{"send": {"text": "x"}}]}))
    return path


def test_graceful_stop_sets_the_grace_period(tmp_path: Path, captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(main, ["run", "-s", str(_scenario(tmp_path, gracefulStop="7s"))])
    assert result.exit_code == 0, result.output
    assert captured["options"].grace_s == 7.0


def test_grace_on_the_command_line_wins(tmp_path: Path, captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(main, ["run", "-s", str(_scenario(tmp_path, gracefulStop="7s")), "--grace", "1"])
    assert result.exit_code == 0, result.output
    assert captured["options"].grace_s == 1.0


def test_without_graceful_stop_the_default_grace_applies(tmp_path: Path, captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(main, ["run", "-s", str(_scenario(tmp_path))])
    assert result.exit_code == 0, result.output
    assert captured["options"].grace_s == 2.0
