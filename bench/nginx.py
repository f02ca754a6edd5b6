"""A private nginx for the HTTP benchmarks: one worker, no access log, a tiny response, pinned to a core.

Debian's nginx, started with its own config in a temporary folder (never the system one), on a free
loopback port, ``daemon off`` so the process is ours and stops by its id. Keep-alive is effectively
unlimited (``keepalive_requests``) so a closed-loop client never pays a reconnect mid-run.

Locations:

- ``/``      -> ``200 text/plain`` with ``BODY`` (the plain GET benchmarks);
- ``/json``  -> ``200 application/json`` with ``JSON_BODY`` (anything under it: captures and checks).

    .venv/bin/python bench/nginx.py            # start one, print its URL, stop on Ctrl-C
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

SERVER_CORE = 1
BODY = "hello from nginx\n"
JSON_BODY = '{"id": 42, "token": "tok-8f2c", "user": {"name": "bench", "roles": ["reader"]}, "ok": true}'
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/bin/nginx")


def _quoted(text: str) -> str:
    """An nginx string literal: single-quoted, backslash and quote escaped, newline as \\n."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def nginx_config(port: int, prefix: Path, *, host: str = "127.0.0.1", body: str = BODY,
                 json_body: str = JSON_BODY) -> str:
    """The whole nginx.conf: every path it writes lives under ``prefix``."""
    return f"""\
worker_processes 1;
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    client_body_temp_path {prefix / "body"};
    proxy_temp_path {prefix / "proxy"};
    fastcgi_temp_path {prefix / "fastcgi"};
    uwsgi_temp_path {prefix / "uwsgi"};
    scgi_temp_path {prefix / "scgi"};
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    server_tokens off;

    server {{
        listen {host}:{port} reuseport backlog=4096;
        location = / {{
            default_type text/plain;
            return 200 {_quoted(body)};
        }}
        location /json {{
            default_type application/json;
            return 200 {_quoted(json_body)};
        }}
    }}
}}
"""


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


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in NGINX_CANDIDATES if Path(p).is_file()), None)


def nginx_version(binary: str) -> str:
    try:
        done = subprocess.run([binary, "-v"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    text = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
    return text.rsplit("/", 1)[-1] if "/" in text else text


class Nginx:
    """Start/stop one private nginx (master + one worker), pinned with taskset to ``core``."""

    def __init__(self, core: int | None = SERVER_CORE, host: str = "127.0.0.1") -> None:
        self.core = core
        self.host = host
        self.port = 0
        self.pid = 0
        self.version = ""
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 15.0) -> Nginx:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        self.version = nginx_version(binary)
        self._dir = Path(tempfile.mkdtemp(prefix="stb-nginx-"))
        self._dir.chmod(0o755)  # the worker may run as another user and must read its config
        for attempt in range(3):
            self.port = free_port(self.host)
            conf = self._dir / "nginx.conf"
            conf.write_text(nginx_config(self.port, self._dir, host=self.host))
            prefix = ["taskset", "-c", str(self.core)] if self.core is not None and shutil.which("taskset") else []
            self._proc = subprocess.Popen([*prefix, binary, "-p", str(self._dir), "-c", str(conf)],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
            self.pid = self._proc.pid
            if wait_listening(self.host, self.port, timeout_s, self._proc):
                return self
            self._kill()
            if attempt == 2:
                break
        log = self.error_log_tail()
        self.stop()
        raise RuntimeError(f"nginx did not start on {self.host}:{self.port}: {log}")

    def error_log_tail(self, limit: int = 400) -> str:
        if self._dir is None:
            return ""
        with contextlib.suppress(OSError):
            lines = (self._dir / "error.log").read_text(errors="replace").strip().splitlines()
            return " / ".join(lines[-3:])[-limit:]
        return ""

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # graceful: the master stops its worker
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: the master and its worker
                proc.wait()

    def stop(self) -> None:
        self._kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    with Nginx() as server:
        print(f"nginx {server.version} listening on {server.url} (pid {server.pid}, core {server.core}); Ctrl-C stops",
              flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
