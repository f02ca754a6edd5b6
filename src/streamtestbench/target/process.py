"""Run the target as a child process, for tests and demos: start, learn the port, stop cleanly.

The child prints exactly one "listening" line on stdout; reading it tells us the real port (with
``--port 0``) and that the socket is accepting. Stopping sends SIGTERM and waits for exit code 0,
killing the child if it does not leave in time.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import IO, Self

__all__ = ["LISTENING_RE", "TargetProcess", "TargetStartError", "parse_listening_line"]

LISTENING_RE = re.compile(
    r"streamtestbench target listening on http://(?P<host>\[[^\]]+\]|[^:/\s]+):(?P<port>\d+)"
)


class TargetStartError(RuntimeError):
    """The child exited or stayed silent instead of printing its listening line."""


def parse_listening_line(line: str) -> tuple[str, int]:
    """(host as in a URL, port) from the target's listening line."""
    match = LISTENING_RE.search(line)
    if match is None:
        raise ValueError(f"not a target listening line: {line!r}")
    return match.group("host"), int(match.group("port"))


def _read_line(stream: IO[bytes], timeout: float) -> bytes:
    """One line from a pipe within ``timeout`` seconds (b"" on EOF or time out)."""
    fd = stream.fileno()
    deadline = time.monotonic() + timeout
    buffer = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buffer += chunk
    return bytes(buffer)


class TargetProcess:
    """``with TargetProcess("--auth") as target: ... target.url ...``

    ``args`` are extra ``streamtestbench target`` flags; ``--host`` and ``--port`` come from the
    keyword arguments. stderr is inherited unless ``stderr`` is given.
    """

    def __init__(
        self,
        *args: str,
        host: str = "127.0.0.1",
        port: int = 0,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 15.0,
        stderr: int | IO[bytes] | None = None,
        python: str = sys.executable,
    ) -> None:
        self.args: Sequence[str] = args
        self.bind_host = host
        self.requested_port = port
        self.env = dict(env) if env is not None else None
        self.startup_timeout = startup_timeout
        self.stderr = stderr
        self.python = python
        self.proc: subprocess.Popen[bytes] | None = None
        self.listening_line = ""
        self.host = ""
        self.port = 0
        self.returncode: int | None = None

    # -- addresses -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("target not started")
        return self.proc.pid

    def command(self) -> list[str]:
        return [
            self.python, "-m", "streamtestbench.target",
            "--host", self.bind_host, "--port", str(self.requested_port), *self.args,
        ]

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        env = None
        if self.env is not None:
            env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr, env=env
        )
        assert self.proc.stdout is not None
        raw = _read_line(self.proc.stdout, self.startup_timeout)
        line = raw.decode("utf-8", "replace").strip()
        try:
            self.host, self.port = parse_listening_line(line)
        except ValueError:
            try:
                code: int | None = self.proc.wait(timeout=1.0 if not raw else 0.1)
            except subprocess.TimeoutExpired:
                code = None
            self._kill()
            state = f"exited with {code}" if code is not None else f"silent for {self.startup_timeout}s"
            raise TargetStartError(f"target {state}; stdout: {line!r}; command: {self.command()}") from None
        self.listening_line = line
        return self

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM, wait up to ``timeout``, then SIGKILL; returns the exit code."""
        proc = self.proc
        if proc is None:
            raise RuntimeError("target not started")
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        self.returncode = proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        return self.returncode

    def _kill(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is not None and self.returncode is None:
            self.stop()
