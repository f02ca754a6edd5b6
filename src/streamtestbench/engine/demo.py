"""``streamtestbench demo``: the reference target, a 20-second WebSocket run, a summary and results.json."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..outputs.plan_text import render_plan
from ..scenario.loader import scenario_from_data
from ..scenario.plan import build_plan

DEMO_SCENARIO: dict[str, Any] = {
    "name": "Demo: seed 003 WebSocket flow, ramp to 100 connections",
    "description": "10 s ramp to 100 connections, 10 s hold; seed 003's communication flow with short think times",
    "protocol": "WEBSOCKET",
    "endpoint": "ws://127.0.0.1:8000/ws",
    "executor": {"type": "ramping-vus", "startVUs": 0,
                 "stages": [{"duration": "10s", "target": 100}, {"duration": "10s", "target": 100}]},
    "flow": [
        {"connect": "/ws"},
        {"subscribe": "agents"},
        {"subscribe": "metrics"},
        {"loop": {"count": 20, "steps": [
            {"send": {"json": {"type": "ping"}}},
            {"think": 0.5},
            {"send": {"json": {"type": "agent_message", "from": "user_123", "to": "agent_456",
                               "payload": {"action": "execute", "timestamp": 0, "data": {"test": True}}}}},
            {"think": 0.3},
        ]}},
        {"unsubscribe": "agents"},
        {"disconnect": True},
    ],
}


@click.command()
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("results.json"), show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: cores).")
def demo(output: Path, workers: int | None) -> None:
    """Start the reference target, run a 20 s WebSocket scenario against it, print the summary."""
    from ..target.process import TargetProcess
    from .runner import COORDINATOR_NICE, RunOptions, run_plan_from_cli

    with TargetProcess() as target:
        data = dict(DEMO_SCENARIO, endpoint=f"ws://127.0.0.1:{target.port}/ws")
        scenario = scenario_from_data(data, "<demo>")
        plan = build_plan(scenario)
        click.echo(f"reference target running on 127.0.0.1:{target.port}")
        click.echo(render_plan(plan))
        code = run_plan_from_cli(scenario, plan, output=output, verbose=False,
                                 options=RunOptions(workers=workers, progress_every_s=5.0,
                                                    coordinator_nice=COORDINATOR_NICE))
    sys.exit(code)
