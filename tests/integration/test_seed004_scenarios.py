"""Seed 004's tests as `generate` writes them, run against the reference target with --auth (login first)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from streamtestbench.target.process import TargetProcess

from .scenario_runs import generate, run_file

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def target() -> Iterator[TargetProcess]:
    with TargetProcess("--auth") as process:
        yield process


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate("all", tmp_path_factory.mktemp("generated"))


def env_for(target: TargetProcess) -> dict[str, str]:
    base = f"http://127.0.0.1:{target.port}"
    return {"BASE_URL": base, "WS_URL": f"ws://127.0.0.1:{target.port}/ws", "GRAPHQL_URL": f"{base}/graphql",
            "MCP_URL": f"{base}/mcp"}


@pytest.mark.parametrize(
    ("file_name", "metric_prefixes"),
    [
        ("http_basic_load.json", {"http.GET"}),
        ("rest_crud.json", {"http.GET", "http.POST", "http.PUT", "http.PATCH", "http.DELETE"}),
        ("graphql_query_mutation.json", {"graphql.GetUsers", "graphql.CreatePost"}),
        ("mcp_tools.json", {"rpc.tools/list", "mcp.echo", "mcp.get_time", "mcp.get_user_info"}),
        ("websocket_subscribe_publish.json", {"ws.ping", "ws.subscribe", "ws.broadcast"}),
    ],
)
def test_seed004_scenario_runs_clean_against_the_target(target: TargetProcess, generated: Path, tmp_path: Path,
                                                        file_name: str, metric_prefixes: set[str]) -> None:
    results = run_file(generated / file_name, env_for(target), tmp_path / "results.json")
    assert results["status"] == "completed"
    assert results["totalMessages"] > 0
    assert results["failedMessages"] == 0, results["errors"]
    names = set(results["metrics"])
    for prefix in metric_prefixes:
        assert any(name.startswith(prefix) for name in names), (prefix, sorted(names))
    if file_name.startswith(("http", "rest")):
        assert set(results["httpStatusClasses"]) <= {"2xx"}
