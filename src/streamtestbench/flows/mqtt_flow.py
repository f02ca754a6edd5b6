"""MQTT flows compiled once: steps become small operations, and where each publish's payload comes from.

Generated payloads are drawn fresh for each paced message; a publisher running flat out cycles
through a pool of generated bodies, since generating one costs more than publishing it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..payloads import make_generator
from ..payloads.base import PayloadGenerator
from ..scenario.enums import PayloadType
from ..scenario.flow import (
    ConnectStep,
    DisconnectStep,
    ExpectStep,
    LoopStep,
    PublishStep,
    SubscribeStep,
    ThinkStep,
    UnsubscribeStep,
)
from ..scenario.model import MqttOptions, Scenario
from ..templating import CompiledText, RenderContext, compile_json_body, compile_text
from .ops import Expect, Think
from .websocket import UnsupportedStep

__all__ = [
    "Bodies",
    "CompiledFlow",
    "Connect",
    "Disconnect",
    "Expect",
    "Loop",
    "Publish",
    "Subscribe",
    "Think",
    "check_flow",
    "compile_flow",
    "generated_bodies",
    "mqtt_address",
]

DEFAULT_PORT = 1883
POOL_SIZE = 64
"""Generated bodies a flat-out publisher cycles through, per payload type."""


def mqtt_address(endpoint: str) -> tuple[str, int]:
    """``mqtt://host:1883``, ``tcp://host``, ``host:port`` -> (host, port)."""
    parts = urlsplit(endpoint if "://" in endpoint else f"mqtt://{endpoint}")
    if parts.scheme in ("mqtts", "ssl"):
        raise UnsupportedStep(f"{parts.scheme}:// (MQTT over TLS) is not supported; use mqtt:// on loopback")
    return parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORT


# -- payloads -------------------------------------------------------------------------------------------------
class Bodies:
    """Where a publish's payload comes from: literal JSON or text, a template, or a payload generator."""

    def __init__(self, *, static: bytes | None = None, template: CompiledText | None = None,
                 json_template: Any = None, generators: Sequence[PayloadGenerator] = (), fresh: bool = True) -> None:
        self.static = static
        self.template = template
        self.json_template = json_template
        self.generators = tuple(generators)
        self.fresh = fresh
        self._pools: list[list[bytes]] = [[] for _ in self.generators]
        self._open: list[bytes] | None = None

    def next(self, ctx: RenderContext, seq: int) -> bytes:
        if self.static is not None:
            return self.static
        if self.template is not None:
            return self.template.render(ctx).encode()
        if self.json_template is not None:
            rendered: bytes = self.json_template.render_bytes(ctx)
            return rendered
        index = seq % len(self.generators)
        if self.fresh:
            return self.generators[index].next_bytes(ctx.vu, seq)
        pool = self._pools[index]
        if len(pool) < POOL_SIZE:
            pool.append(self.generators[index].next_bytes(ctx.vu, seq))
            return pool[-1]
        return pool[seq % POOL_SIZE]


    @property
    def poolable(self) -> bool:
        """Whether ``open_pool`` applies: generated bodies, or one literal JSON object."""
        static = self.static
        return bool(self.generators) or (static is not None and static[:1] == b"{" and static[-1:] == b"}")

    def open_pool(self, ctx: RenderContext) -> list[bytes]:
        """Generated JSON object bodies without their closing brace, ready for ``STAMP_TAIL`` (built once)."""
        if self._open is None:
            count = POOL_SIZE * max(1, len(self.generators))
            bodies = [self.next(ctx, seq) for seq in range(count)] if self.generators else [self.next(ctx, 0)]
            self._open = [body[:-1] for body in bodies if body[:1] == b"{" and body[-1:] == b"}"] or [b"{"]
        return self._open


def generated_bodies(types: Sequence[PayloadType], rng: random.Random, fresh: bool,
                     custom_payload: Any = None) -> Bodies:
    """Bodies from seed 000's payload generators; ``custom_payload`` is the template CUSTOM renders."""
    return Bodies(generators=[make_generator(kind, rng, template=custom_payload) for kind in types], fresh=fresh)


# -- compiled flow --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Publish:
    topic: CompiledText
    bodies: Bodies
    qos: int
    retain: bool
    count: int
    rate: float | None


@dataclass(frozen=True)
class Subscribe:
    topic: CompiledText
    qos: int
    unsubscribe: bool = False


@dataclass(frozen=True)
class Connect:
    address: tuple[str, int] | None
    timeout_s: float


@dataclass(frozen=True)
class Disconnect:
    pass


@dataclass(frozen=True)
class Loop:
    count: int
    ops: tuple[Any, ...]


@dataclass(frozen=True)
class CompiledFlow:
    ops: tuple[Any, ...]
    connects: bool
    expects: bool
    disconnects: bool = False
    """The flow closes its connection itself, so opening the next one is no reconnect."""


STATIC_CONTEXT = RenderContext(vu=0, iteration=0, rng=random.Random(0), variables={})
"""Renders bodies that hold no template (their escapes and ``$env`` values applied once)."""


def _body_of(spec: Any, rng: random.Random, custom_payload: Any) -> Bodies:
    if spec.text is not None:
        text = compile_text(spec.text)
        return Bodies(static=text.source.encode()) if text.is_static else Bodies(template=text)
    if spec.json_body is not None:
        body = compile_json_body(spec.json_body)
        return Bodies(static=body.render_bytes(STATIC_CONTEXT)) if body.is_static else Bodies(json_template=body)
    kind = spec.payload or PayloadType.METRICS
    return generated_bodies([kind], rng, fresh=True, custom_payload=custom_payload)


def compile_flow(steps: Sequence[Any], rng: random.Random | None = None, custom_payload: Any = None) -> CompiledFlow:
    """Steps -> small operations; raises UnsupportedStep for a step MQTT cannot run."""
    rng = rng or random.Random(0)
    ops: list[Any] = []
    connects = expects = disconnects = False
    for step in steps:
        if isinstance(step, PublishStep):
            spec = step.publish
            ops.append(Publish(compile_text(spec.topic), _body_of(spec, rng, custom_payload), spec.qos, spec.retain,
                               spec.count, spec.rate))
        elif isinstance(step, SubscribeStep | UnsubscribeStep):
            channel = step.subscribe if isinstance(step, SubscribeStep) else step.unsubscribe
            if channel.topic is None:
                raise UnsupportedStep("an MQTT subscribe/unsubscribe needs a topic (channel is for WebSocket)")
            ops.append(Subscribe(compile_text(channel.topic), channel.qos, isinstance(step, UnsubscribeStep)))
        elif isinstance(step, ThinkStep):
            ops.append(Think.of(step))
        elif isinstance(step, LoopStep):
            inner = compile_flow(step.loop.steps, rng, custom_payload)
            connects = connects or inner.connects
            expects = expects or inner.expects
            disconnects = disconnects or inner.disconnects
            ops.append(Loop(step.loop.count, inner.ops))
        elif isinstance(step, ExpectStep):
            expects = True
            ops.append(Expect.of(step))
        elif isinstance(step, ConnectStep):
            connects = True
            url = step.connect.url
            ops.append(Connect(mqtt_address(url) if url and not url.startswith("/") else None,
                               step.connect.timeout_ms / 1000))
        elif isinstance(step, DisconnectStep):
            disconnects = True
            ops.append(Disconnect())
        else:
            raise UnsupportedStep(f"{type(step).__name__} is not an MQTT step "
                                  "(MQTT flows use connect, subscribe, publish, expect, unsubscribe, think, loop, "
                                  "disconnect)")
    return CompiledFlow(tuple(ops), connects, expects, disconnects)


def check_flow(scenario: Scenario) -> None:
    """Fail before the run for a flow step or endpoint this behaviour cannot run."""
    compile_flow(scenario.flow)
    if scenario.endpoint:
        mqtt_address(scenario.endpoint)
    options = scenario.mqtt or MqttOptions()
    compile_text(options.topic)
    compile_text(options.client_id)
