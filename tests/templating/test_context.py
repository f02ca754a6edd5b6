from __future__ import annotations

import random

from streamtestbench.templating import RenderContext


def test_context_starts_with_empty_variables_and_missing() -> None:
    ctx = RenderContext(vu=1, iteration=0, rng=random.Random(0))
    other = RenderContext(vu=2, iteration=0, rng=random.Random(0))
    ctx.variables["x"] = 1
    ctx.missing.add("y")
    assert other.variables == {} and other.missing == set()
