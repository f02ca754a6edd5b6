"""``make_generator``: the one entry point protocols use to get a payload family's generator."""

from __future__ import annotations

import random
from typing import Any

from ..scenario.enums import PayloadType
from .base import PayloadGenerator
from .behavioral import BehavioralGenerator
from .custom import CustomGenerator
from .heartbeat import HeartbeatGenerator
from .metrics import MetricsGenerator
from .session import SessionGenerator
from .voice import VoiceGenerator

FAMILIES: dict[PayloadType, type[PayloadGenerator]] = {
    PayloadType.VOICE_DATA: VoiceGenerator,
    PayloadType.BEHAVIORAL_DATA: BehavioralGenerator,
    PayloadType.SESSION_DATA: SessionGenerator,
    PayloadType.METRICS: MetricsGenerator,
    PayloadType.HEARTBEAT: HeartbeatGenerator,
}


def make_generator(payload_type: PayloadType | str, rng: random.Random, size_bytes: int | None = None,
                   template: Any = None, *, timestamps: bool = True) -> PayloadGenerator:
    """A generator of ``payload_type`` messages drawn from ``rng``.

    ``size_bytes`` grows each encoded message to about that size (within a few bytes; never shrinks a
    message below its natural size). ``template`` is CUSTOM's JSON template. ``timestamps=False``
    leaves the ``timestamp`` field out, so one seed gives identical bytes run after run.
    """
    kind = PayloadType(payload_type)
    if kind is PayloadType.CUSTOM:
        return CustomGenerator(rng, size_bytes, timestamps=timestamps, template=template)
    return FAMILIES[kind](rng, size_bytes, timestamps=timestamps)
