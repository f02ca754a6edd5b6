"""What a template reads while it renders: the virtual user, its iteration, variables, randomness."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class RenderContext:
    """Per virtual user state; ``variables`` is mutable (captures and data rows are merged in).

    Randomness comes only from ``rng`` so a run with ``--seed`` renders the same values.
    ``missing`` collects names that were read but not set, for the behaviour to report once.
    """

    vu: int
    iteration: int
    rng: random.Random
    variables: dict[str, Any] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
