"""What every payload family shares: the envelope, the VU's identity, and fitting a requested size."""

from __future__ import annotations

import base64
import random
import time
from typing import Any

import orjson

from .identity import Identities

PADDING_OVERHEAD = len(b',"padding":""')


class PayloadGenerator:
    """Builds one family's messages; subclasses supply :meth:`body` (and may fit sizes their own way).

    Every message starts with ``type``, ``correlation_id`` (``"<vu>-<seq>"``, which the reference
    target echoes and the WebSocket client matches replies by) and, unless ``timestamps`` is False,
    ``timestamp`` in epoch milliseconds: the one field that differs between two runs with one seed.
    """

    kind = "message"

    def __init__(self, rng: random.Random, size_bytes: int | None = None, *, timestamps: bool = True) -> None:
        self.rng = rng
        self.size_bytes = size_bytes
        self.timestamps = timestamps
        self.identities = Identities(rng.getrandbits(64))
        self._filler = ""

    def next(self, vu: int, seq: int) -> dict[str, Any]:
        message: dict[str, Any] = {"type": self.kind, "correlation_id": f"{vu}-{seq}"}
        if self.timestamps:
            message["timestamp"] = time.time_ns() // 1_000_000
        message.update(self.body(vu, seq))
        if self.size_bytes is not None:
            self.fit(message, self.size_bytes)
        return message

    def next_bytes(self, vu: int, seq: int) -> bytes:
        return orjson.dumps(self.next(vu, seq))

    def body(self, vu: int, seq: int) -> dict[str, Any]:
        """The family's own fields of message ``seq`` from VU ``vu``."""
        raise NotImplementedError

    def fit(self, message: dict[str, Any], size_bytes: int) -> None:
        """Grow ``message`` to ``size_bytes`` once encoded, with a ``padding`` field; never shrink it."""
        deficit = size_bytes - len(orjson.dumps(message)) - PADDING_OVERHEAD
        if deficit >= 0:
            message["padding"] = self.filler(deficit)

    def filler(self, length: int) -> str:
        """``length`` characters of random-looking base64 text, drawn once and sliced after."""
        if len(self._filler) < length:
            raw = self.rng.randbytes(length * 3 // 4 + 3)
            self._filler = base64.b64encode(raw).decode("ascii")
        return self._filler[:length]
