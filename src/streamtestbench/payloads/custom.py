"""CUSTOM: a scenario's own message shape, a JSON template rendered per message.

Without a template a generic analytics event is sent, so ``payloads: [CUSTOM]`` alone still works.
"""

from __future__ import annotations

import random
from typing import Any

from .base import PayloadGenerator

EVENTS = ("purchase", "search", "share", "rating", "signup", "wishlist_add")


class CustomGenerator(PayloadGenerator):
    kind = "custom"

    def __init__(self, rng: random.Random, size_bytes: int | None = None, *, timestamps: bool = True,
                 template: Any = None) -> None:
        super().__init__(rng, size_bytes, timestamps=timestamps)
        self._template: Any = None
        self._variables: dict[str, Any] = {}
        if template is not None:
            from ..templating import compile_value

            self._template = compile_value(template)  # a malformed template fails here, before the run

    def body(self, vu: int, seq: int) -> dict[str, Any]:
        if self._template is None:
            return self._default(vu, seq)
        from ..templating import RenderContext

        rendered = self._template.render(RenderContext(vu=vu, iteration=seq, rng=self.rng,
                                                       variables=self._variables))
        return dict(rendered) if isinstance(rendered, dict) else {"data": rendered}

    def _default(self, vu: int, seq: int) -> dict[str, Any]:
        rng = self.rng
        identity = self.identities.of(vu)
        return {"event": rng.choice(EVENTS), "user_id": identity.user_id, "session_id": identity.session_id,
                "seq": seq, "properties": {"value": round(rng.uniform(1.0, 250.0), 2), "currency": "USD",
                                           "item_count": rng.randint(1, 6)}}
