"""Which Behaviour runs each protocol's virtual users (WebSocket today)."""

from __future__ import annotations

import random

from ..scenario.enums import Protocol
from ..scenario.errors import Problem, ScenarioError
from ..scenario.model import Scenario
from .behaviour import Behaviour
from .recording import Recorder

SUPPORTED_PROTOCOLS = frozenset({Protocol.WEBSOCKET})


def check_supported(scenario: Scenario) -> None:
    """Fail before any worker starts when the engine cannot run a protocol or a flow step yet."""
    if scenario.protocol not in SUPPORTED_PROTOCOLS:
        raise ScenarioError([Problem(
            "<run>", "protocol", f"the engine cannot run {scenario.protocol.value} load yet",
            hint=f"supported: {', '.join(sorted(p.value for p in SUPPORTED_PROTOCOLS))}; "
                 "'validate' and 'run --dry-run' work for every protocol",
        )])
    from ..flows.websocket import UnsupportedStep, compile_flow

    try:
        compile_flow(scenario.flow, scenario.endpoint or "", {})
    except UnsupportedStep as error:
        raise ScenarioError([Problem("<run>", "flow", str(error),
                                     hint="WebSocket flows use connect, send, expect, subscribe, unsubscribe, "
                                          "loop, think, disconnect")]) from None


def make_behaviour(scenario: Scenario, recorder: Recorder, rng: random.Random, *, grace_s: float) -> Behaviour:
    check_supported(scenario)
    from ..flows.websocket import WebSocketBehaviour

    return WebSocketBehaviour(scenario, recorder, rng, grace_s=grace_s)
