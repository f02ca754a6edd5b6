"""``python -m streamtestbench.target``: the same as ``streamtestbench target``."""

from __future__ import annotations

from .command import target_command

if __name__ == "__main__":
    target_command(prog_name="streamtestbench target")
