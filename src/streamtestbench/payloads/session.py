"""SESSION_DATA: session lifecycle events with the app, device and account details they carry."""

from __future__ import annotations

from typing import Any

from .base import PayloadGenerator
from .identity import gps_near

APP_VERSIONS = ("4.12.0", "4.12.1", "4.13.0", "4.13.2")
EVENTS = ("session_start", "session_resume", "session_pause", "session_end")
MODELS = {"android": ("Pixel 8", "Galaxy S23", "Moto G54"), "ios": ("iPhone 14", "iPhone 15 Pro", "iPhone SE")}


class SessionGenerator(PayloadGenerator):
    kind = "session_data"

    def body(self, vu: int, seq: int) -> dict[str, Any]:
        identity = self.identities.of(vu)
        rng = self.rng
        event = EVENTS[seq % len(EVENTS)]
        message: dict[str, Any] = {
            "event_type": event,
            "user_id": identity.user_id,
            "device_id": identity.device_id,
            "session_id": identity.session_id,
            "app_version": rng.choice(APP_VERSIONS),
            "build": rng.randint(4100, 4399),
            "platform": identity.platform,
            "os_version": identity.os_version,
            "device_model": rng.choice(MODELS[identity.platform]),
            "locale": identity.locale,
            "gps": gps_near(identity, rng),
        }
        if event == "session_start":
            message["email"] = identity.email
            message["phone_number"] = identity.phone_number
        else:
            message["duration_ms"] = rng.randint(1_000, 1_800_000)
        return message
