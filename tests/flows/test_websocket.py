"""Pure parts of the WebSocket behaviour: URLs, source addresses, flow compilation."""

from __future__ import annotations

import pytest

from streamtestbench.flows.websocket import (
    Loop,
    Send,
    Think,
    UnsupportedStep,
    compile_flow,
    source_hosts,
    websocket_url,
)
from streamtestbench.scenario.model import Scenario


def _flow(steps: list[dict[str, object]]) -> list[object]:
    scenario = Scenario.model_validate({"name": "t", "endpoint": "ws://127.0.0.1:1/ws", "duration_seconds": 1,
                                        "connections": 1, "flow": steps})
    return list(scenario.flow)


@pytest.mark.parametrize(("endpoint", "path", "expected"), [
    ("localhost:8000/ws/mobile/sync/", None, "ws://localhost:8000/ws/mobile/sync/"),
    ("ws://127.0.0.1:8000/ws", "/other?device_id=1", "ws://127.0.0.1:8000/other?device_id=1"),
    ("ws://127.0.0.1:8000/ws", "ws://127.0.0.2:9/x", "ws://127.0.0.2:9/x"),
])
def test_websocket_url(endpoint: str, path: str | None, expected: str) -> None:
    assert websocket_url(endpoint, path) == expected


def test_source_addresses_spread_only_when_ports_would_run_out() -> None:
    assert source_hosts("ws://127.0.0.1:8000/ws", 10_000) == []
    assert source_hosts("ws://127.0.0.1:8000/ws", 50_000) == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    assert source_hosts("ws://[::1]:8000/ws", 50_000) == []


def test_seed_003_flow_compiles_with_implied_replies() -> None:
    flow = compile_flow(_flow([
        {"subscribe": "agents"},
        {"loop": {"count": 2, "steps": [{"send": {"json": {"type": "ping"}}}, {"think": 1},
                                        {"send": {"json": {"type": "agent_message", "payload": {}}}}]}},
    ]), "ws://127.0.0.1:1/ws", {})
    subscribe, loop = flow.ops
    assert isinstance(subscribe, Send) and subscribe.reply_type == "subscribed"
    assert isinstance(loop, Loop) and loop.count == 2
    ping, think, agent = loop.ops
    assert isinstance(ping, Send) and ping.reply_type == "pong"
    assert isinstance(think, Think) and think.low == think.high == 1.0
    assert isinstance(agent, Send) and agent.keyed == "t"
    assert flow.only_sends is None and not flow.connects


def test_flows_made_only_of_sends_run_as_one_chain() -> None:
    flow = compile_flow(_flow([{"loop": {"count": 3, "steps": [{"send": {"text": "x"}}]}}]), "ws://h:1/ws", {})
    assert flow.only_sends is not None and len(flow.only_sends) == 3


def test_steps_of_other_protocols_are_refused_before_the_run() -> None:
    with pytest.raises(UnsupportedStep):
        compile_flow(_flow([{"get": {"url": "/x"}}]), "ws://h:1/ws", {})


def test_connect_step_offers_its_subprotocols() -> None:
    flow = compile_flow(_flow([{"connect": {"url": "/ws", "subprotocols": ["graphql-transport-ws", "v2"]}}]),
                        "ws://127.0.0.1:1/ws", {"Authorization": "Bearer t"})
    (connect,) = flow.ops
    assert connect.headers == {"Authorization": "Bearer t", "Sec-WebSocket-Protocol": "graphql-transport-ws, v2"}
    assert connect.url == "ws://127.0.0.1:1/ws"


def _run_flow(port: int, steps: list[dict[str, object]], vus: int = 2) -> dict[str, object]:
    from streamtestbench.engine.runner import RunOptions, execute
    from streamtestbench.scenario.loader import scenario_from_data
    from streamtestbench.scenario.plan import build_plan

    scenario = scenario_from_data({"name": "flow", "protocol": "WEBSOCKET", "endpoint": f"ws://127.0.0.1:{port}/ws",
                                   "phases": [{"duration": 1, "arrivalCount": vus}], "flow": steps})
    return execute(scenario, build_plan(scenario), RunOptions(workers=1, show_progress=False)).results


def test_expect_by_fields_and_broadcast_against_the_target() -> None:
    from streamtestbench.target.process import TargetProcess

    with TargetProcess("--broadcast-rate", "20") as target:
        results = _run_flow(target.port, [
            {"connect": "/ws"},
            {"send": {"json": {"type": "ping", "id": "abc"}, "expect": {"match": {"type": "pong", "id": "abc"}}}},
            {"subscribe": "agents"},
            {"expect": {"match": {"type": "broadcast", "channel": "agents"}, "timeoutMs": 3000}},
            {"send": {"text": "plain words", "expect": {"contains": "plain"}}},
            {"disconnect": True},
        ])
    metrics = results["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["ws.ping"]["successful"] == 2
    assert metrics["ws.expect"]["successful"] == 2
    assert metrics["ws.text"]["successful"] == 2
    assert results["failedMessages"] == 0


def test_an_expectation_never_met_is_a_counted_timeout() -> None:
    from streamtestbench.target.process import TargetProcess

    with TargetProcess() as target:
        results = _run_flow(target.port, [
            {"connect": "/ws"},
            {"expect": {"match": {"type": "never"}, "timeoutMs": 300}},
            {"disconnect": True},
        ], vus=1)
    assert results["failedMessages"] == 1
    assert results["errors"] == [{"kind": "Response timeout", "count": 1}]


def test_broadcast_and_publish_are_one_way_and_leave_the_callback_chain() -> None:
    flow = compile_flow(_flow([{"send": {"json": {"type": "broadcast", "data": {"channel": "c", "data": 1}}}},
                               {"send": {"json": {"type": "publish", "channel": "c"}}}]), "ws://h/ws", {})
    assert [op.one_way for op in flow.ops] == [True, True]
    assert flow.only_sends is None
    ping = compile_flow(_flow([{"send": {"json": {"type": "ping"}}}]), "ws://h/ws", {})
    assert ping.only_sends is not None and not ping.only_sends[0].one_way
