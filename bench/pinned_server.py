"""A private server process for a benchmark: its own config in a temp folder, a free loopback port,
pinned with taskset to the server core, stopped (and its folder removed) when the run ends.

nginx and mosquitto differ only in their binary, config, command line, log file and how they stop;
subclasses give those, this class does the rest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

SERVER_CORE = 1
START_ATTEMPTS = 3


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_listening(host: str, port: int, timeout_s: float, alive: subprocess.Popen[bytes] | None = None) -> bool:
    """True once something accepts TCP connections on host:port (False on timeout or if ``alive`` died)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return True
        time.sleep(0.05)
    return False


class PinnedServer:
    """Start/stop one private server process, pinned with taskset to ``core``."""

    name = "server"
    scheme = "tcp"
    log_file = "server.log"
    stop_signal = signal.SIGTERM

    def __init__(self, core: int | None = SERVER_CORE, host: str = "127.0.0.1") -> None:
        self.core = core
        self.host = host
        self.port = 0
        self.pid = 0
        self.version = ""
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what a subclass gives --------------------------------------------------------------------
    def binary(self) -> str | None:
        raise NotImplementedError

    def version_of(self, binary: str) -> str:
        raise NotImplementedError

    def config(self, port: int, folder: Path) -> str:
        raise NotImplementedError

    def argv(self, binary: str, conf: Path, folder: Path) -> list[str]:
        raise NotImplementedError

    # -- the rest ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self, timeout_s: float = 15.0) -> Self:
        binary = self.binary()
        if binary is None:
            raise RuntimeError(f"{self.name} is not installed (apt-get install {self.name})")
        self.version = self.version_of(binary)
        self._dir = Path(tempfile.mkdtemp(prefix=f"stb-{self.name}-"))
        self._dir.chmod(0o755)  # a worker may run as another user and must read its config
        for _attempt in range(START_ATTEMPTS):
            self.port = free_port(self.host)
            conf = self._dir / f"{self.name}.conf"
            conf.write_text(self.config(self.port, self._dir))
            prefix = ["taskset", "-c", str(self.core)] if self.core is not None and shutil.which("taskset") else []
            self._proc = subprocess.Popen([*prefix, *self.argv(binary, conf, self._dir)], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True)
            self.pid = self._proc.pid
            if wait_listening(self.host, self.port, timeout_s, self._proc):
                return self
            self._kill()
        log = self.log_tail()
        self.stop()
        raise RuntimeError(f"{self.name} did not start on {self.host}:{self.port}: {log}")

    def log_tail(self, limit: int = 400) -> str:
        if self._dir is None:
            return ""
        with contextlib.suppress(OSError):
            lines = (self._dir / self.log_file).read_text(errors="replace").strip().splitlines()
            return " / ".join(lines[-3:])[-limit:]
        return ""

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(self.stop_signal)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: the process and any workers
                proc.wait()

    def stop(self) -> None:
        self._kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_until_interrupted(self) -> None:
        """Run from the command line: start, say where, wait for Ctrl-C."""
        with self:
            print(f"{self.name} {self.version} listening on {self.url} (pid {self.pid}, core {self.core}); "
                  "Ctrl-C stops", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
