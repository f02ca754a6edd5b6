"""BEHAVIORAL_DATA: a batch of a user's UI interactions (taps, scrolls, swipes) on one screen."""

from __future__ import annotations

from typing import Any

import orjson

from .base import PADDING_OVERHEAD, PayloadGenerator
from .identity import gps_near

SCREENS = {
    "home": ("btn-search", "card-featured", "tab-profile", "tab-cart", "banner-promo"),
    "product": ("btn-add-to-cart", "img-gallery", "btn-share", "select-size", "link-reviews"),
    "cart": ("btn-checkout", "btn-remove-item", "input-coupon", "btn-continue-shopping"),
    "profile": ("btn-edit", "toggle-notifications", "link-orders", "btn-logout"),
}
EVENT_TYPES = ("tap", "tap", "tap", "scroll", "scroll", "swipe", "long_press", "input_focus")
"""Weighted by repetition: taps and scrolls dominate real interaction logs."""
VIEWPORTS = ((390, 844), (412, 915), (375, 667), (430, 932))


class BehavioralGenerator(PayloadGenerator):
    kind = "behavioral_data"

    def body(self, vu: int, seq: int) -> dict[str, Any]:
        identity = self.identities.of(vu)
        rng = self.rng
        screen = rng.choice(tuple(SCREENS))
        width, height = rng.choice(VIEWPORTS)
        events: list[dict[str, Any]] = []
        for _ in range(rng.randint(1, 5)):
            events.append(self._event(screen, width, height, events))
        return {
            "user_id": identity.user_id,
            "device_id": identity.device_id,
            "session_id": identity.session_id,
            "screen": screen,
            "viewport": {"width": width, "height": height},
            "gps": gps_near(identity, rng),
            "events": events,
        }

    def _event(self, screen: str, width: int, height: int, earlier: list[dict[str, Any]]) -> dict[str, Any]:
        rng = self.rng
        offset = (earlier[-1]["t_offset_ms"] if earlier else 0) + rng.randint(40, 1500)
        kind = rng.choice(EVENT_TYPES)
        event: dict[str, Any] = {"event_type": kind, "element_id": rng.choice(SCREENS[screen]),
                                 "x": rng.randint(0, width), "y": rng.randint(0, height), "t_offset_ms": offset}
        if kind in ("scroll", "swipe"):
            event["delta_y"] = rng.randint(-900, 900)
        return event

    def fit(self, message: dict[str, Any], size_bytes: int) -> None:
        """Reach the size with a longer batch of interactions, padding only the last few bytes."""
        events = message["events"]
        viewport = message["viewport"]
        size = len(orjson.dumps(message))
        while True:
            event = self._event(message["screen"], viewport["width"], viewport["height"], events)
            grown = size + len(orjson.dumps(event)) + 1  # the comma before it
            if grown > size_bytes - PADDING_OVERHEAD:
                break
            events.append(event)
            size = grown
        super().fit(message, size_bytes)
