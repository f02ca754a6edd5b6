"""Targets started once per module (or session) as child processes on 127.0.0.1, port 0."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from streamtestbench.target.process import TargetProcess

SECRET = "integration-test-secret-long-enough-for-hs256"


@pytest.fixture(scope="session")
def target() -> Iterator[TargetProcess]:
    """Defaults, except no server broadcasts (so message counts stay exact) and a fixed seed."""
    with TargetProcess("--broadcast-rate", "0", "--seed", "1", "--jwt-secret", SECRET) as process:
        yield process
