"""HEARTBEAT: the tiny keep-alive a device sends when it has nothing else to say."""

from __future__ import annotations

from typing import Any

from .base import PayloadGenerator


class HeartbeatGenerator(PayloadGenerator):
    kind = "heartbeat"

    def body(self, vu: int, seq: int) -> dict[str, Any]:
        identity = self.identities.of(vu)
        return {"device_id": identity.device_id, "seq": seq, "status": "ok"}
