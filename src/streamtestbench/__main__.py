"""``python -m streamtestbench``: the same as the ``streamtestbench`` command."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="streamtestbench")
