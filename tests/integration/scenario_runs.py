"""Run generated example scenarios through the real CLI, shortened so each takes a few seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def generate(kind: str, directory: Path) -> Path:
    subprocess.run([sys.executable, "-m", "streamtestbench", "generate", "--type", kind, "-o", str(directory)],
                   check=True, capture_output=True)
    return directory


def shorten(data: dict[str, Any], seconds: int = 1) -> dict[str, Any]:
    """The same scenario with every stage ``seconds`` long and think times cut to 0.1 s."""
    for phase in data.get("phases", []):
        phase["duration"] = seconds
    executor = data.get("executor")
    if isinstance(executor, dict):
        if "duration" in executor:
            executor["duration"] = f"{seconds * 2}s"
        for stage in executor.get("stages", []):
            stage["duration"] = f"{seconds}s"
    if "duration_seconds" in data:
        data["duration_seconds"] = seconds * 2
        rates = data.get("rates")
        if isinstance(rates, dict):
            rates.pop("rampUpSeconds", None)
            rates.pop("rampDownSeconds", None)

    def walk(steps: list[Any]) -> None:
        for step in steps:
            if "think" in step:
                step["think"] = 0.1
            if "loop" in step:
                step["loop"]["count"] = min(step["loop"]["count"], 3)
                walk(step["loop"]["steps"])

    walk(data.get("flow", []))
    for group in data.get("groups", []):
        walk(group.get("flow", []))
    return data


def run_file(path: Path, env: dict[str, str], out: Path, *extra: str, timeout: float = 90) -> dict[str, Any]:
    """``streamtestbench run`` on a shortened copy of ``path``; the results document it wrote."""
    data = shorten(json.loads(path.read_text()))
    short = out.with_suffix(".scenario.json")
    short.write_text(json.dumps(data))
    completed = subprocess.run(
        [sys.executable, "-m", "streamtestbench", "run", "-s", str(short), "-o", str(out), "--workers", "1",
         "--progress-interval", "60", *extra],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout,
    )
    assert completed.returncode in (0, 1), completed.stdout[-3000:] + completed.stderr[-3000:]
    results: dict[str, Any] = json.loads(out.read_text())
    return results
