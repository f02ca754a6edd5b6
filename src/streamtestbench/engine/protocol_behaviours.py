"""Which Behaviour runs each protocol's virtual users, and the pre-run check that it can.

Behaviour modules are imported on first use, so a WebSocket run never loads the MQTT
codec and a worker pays only for the protocols its scenario names.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from typing import Any

from ..scenario.enums import Protocol
from ..scenario.errors import Problem, ScenarioError
from ..scenario.model import Scenario
from .behaviour import Behaviour
from .recording import Recorder

BEHAVIOURS: dict[Protocol, tuple[str, str]] = {
    Protocol.WEBSOCKET: ("streamtestbench.flows.websocket", "WebSocketBehaviour"),
    Protocol.HTTP: ("streamtestbench.flows.http", "HttpBehaviour"),
    Protocol.GRAPHQL: ("streamtestbench.flows.http", "HttpBehaviour"),
    Protocol.JSONRPC: ("streamtestbench.flows.http", "HttpBehaviour"),
    Protocol.MQTT: ("streamtestbench.flows.mqtt", "MqttBehaviour"),
    Protocol.NATS: ("streamtestbench.flows.publisher", "NatsPublishBehaviour"),
}
"""Module and class per protocol; MIXED dispatches each group to one of these."""

STEP_HINTS: dict[Protocol, str] = {
    Protocol.WEBSOCKET: "WebSocket flows use connect, send, expect, subscribe, unsubscribe, loop, think, "
                        "disconnect, publish",
    Protocol.HTTP: "HTTP flows use request (or get/post/put/patch/delete), graphql, rpc, mcp, loop, think",
    Protocol.GRAPHQL: "GraphQL flows use graphql, request, loop, think",
    Protocol.JSONRPC: "JSON-RPC flows use rpc, mcp, request, loop, think",
    Protocol.MQTT: "MQTT flows use connect, publish, subscribe, unsubscribe, expect, loop, think, disconnect",
    Protocol.NATS: "NATS flows use publish, loop, think",
}

SUPPORTED_PROTOCOLS = frozenset(BEHAVIOURS) | {Protocol.MIXED}


def _module(protocol: Protocol) -> Any:
    return importlib.import_module(BEHAVIOURS[protocol][0])


def _check_websocket_flow(scenario: Scenario) -> None:
    from ..flows.websocket import compile_flow

    compile_flow(scenario.flow, scenario.endpoint or "", {})


def _check_one(scenario: Scenario, where: str) -> None:
    from ..flows.websocket import UnsupportedStep

    try:
        if scenario.protocol is Protocol.WEBSOCKET:
            _check_websocket_flow(scenario)
        else:
            _module(scenario.protocol).check_flow(scenario)
    except UnsupportedStep as error:
        raise ScenarioError([Problem("<run>", where, str(error), hint=STEP_HINTS[scenario.protocol])]) from None


def check_supported(scenario: Scenario) -> None:
    """Fail before any worker starts when a flow holds a step its protocol cannot run."""
    if scenario.protocol is not Protocol.MIXED:
        _check_one(scenario, "flow")
        return
    from .mixed import group_scenario

    for index, group in enumerate(scenario.groups):
        _check_one(group_scenario(scenario, group), f"groups[{index}].flow")


def _make_single(scenario: Scenario, recorder: Recorder, rng: random.Random, grace_s: float) -> Behaviour:
    behaviour_class: Callable[..., Behaviour] = getattr(_module(scenario.protocol), BEHAVIOURS[scenario.protocol][1])
    return behaviour_class(scenario, recorder, rng, grace_s=grace_s)


def make_behaviour(scenario: Scenario, recorder: Recorder, rng: random.Random, *, grace_s: float) -> Behaviour:
    check_supported(scenario)
    if scenario.protocol is Protocol.MIXED:
        from .mixed import MixedBehaviour

        return MixedBehaviour(scenario, recorder, rng, grace_s=grace_s, make=_make_single)
    return _make_single(scenario, recorder, rng, grace_s)
