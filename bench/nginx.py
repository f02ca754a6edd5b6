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

import shutil
import signal
import subprocess
from pathlib import Path

from pinned_server import PinnedServer

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


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in NGINX_CANDIDATES if Path(p).is_file()), None)


def nginx_version(binary: str) -> str:
    try:
        done = subprocess.run([binary, "-v"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    text = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
    return text.rsplit("/", 1)[-1] if "/" in text else text


class Nginx(PinnedServer):
    """One private nginx (master + one worker); SIGQUIT lets the master stop its worker."""

    name = "nginx"
    scheme = "http"
    log_file = "error.log"
    stop_signal = signal.SIGQUIT

    def binary(self) -> str | None:
        return nginx_binary()

    def version_of(self, binary: str) -> str:
        return nginx_version(binary)

    def config(self, port: int, folder: Path) -> str:
        return nginx_config(port, folder, host=self.host)

    def argv(self, binary: str, conf: Path, folder: Path) -> list[str]:
        return [binary, "-p", str(folder), "-c", str(conf)]


if __name__ == "__main__":
    Nginx().serve_until_interrupted()
