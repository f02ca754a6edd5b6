"""The reference target: a fast system under test (WebSocket + HTTP) for demos, tests and benchmarks.

Public surface: :func:`serve` / :class:`TargetConfig` to run it in-process, :class:`TargetProcess`
to run it as a child process, and the click commands ``target_command`` / ``token_command``.
"""

from __future__ import annotations

from .command import target_command, token_command
from .config import TargetConfig, TargetConfigError, is_loopback_host
from .faults import FaultSpecError, parse_fault, parse_faults
from .process import TargetProcess, TargetStartError
from .server import listening_line, serve

__all__ = [
    "FaultSpecError",
    "TargetConfig",
    "TargetConfigError",
    "TargetProcess",
    "TargetStartError",
    "is_loopback_host",
    "listening_line",
    "parse_fault",
    "parse_faults",
    "serve",
    "target_command",
    "token_command",
]
