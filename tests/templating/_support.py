"""Shared helpers for templating tests."""

from __future__ import annotations

import random
from typing import Any

from streamtestbench.templating import RenderContext


def context(vu: int = 3, iteration: int = 0, seed: int = 1, **variables: Any) -> RenderContext:
    return RenderContext(vu=vu, iteration=iteration, rng=random.Random(seed), variables=dict(variables))
