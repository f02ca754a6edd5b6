"""The HTTP client against real servers on loopback: nginx (plain and TLS), the reference target, and
small sockets that misbehave on purpose (never answer, never accept, hang up mid-response)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from streamtestbench.protocols.http_client import (
    ConnectionPool,
    Connector,
    HttpConnection,
    IdleConnections,
    Origin,
    Tally,
    split_url,
)
from streamtestbench.protocols.http_codec import LEAN
from streamtestbench.protocols.http_types import HttpConnectionError, HttpTimeout
from streamtestbench.target.process import TargetProcess

T = TypeVar("T")

pytestmark = pytest.mark.integration


# -- servers ----------------------------------------------------------------------------------
class ListRecorder:
    """Keeps every call, for assertions."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, int, int, int, int, str | None]] = []
        self.counts: dict[str, int] = {}
        self.events: list[tuple[str, Any]] = []
        self.sent_count = 0
        self.received_count = 0
        self.errors: list[str] = []

    def message(self, name: str, intended_ns: int, start_ns: int, end_ns: int, nbytes: int,
                error: str | None = None) -> None:
        self.messages.append((name, intended_ns, start_ns, end_ns, nbytes, error))

    def sent(self, nbytes: int, count: int = 1) -> None:
        self.sent_count += count

    def received(self, nbytes: int, count: int = 1) -> None:
        self.received_count += count

    def connection_attempt(self) -> None:
        self.events.append(("attempt", None))

    def connection_open(self, connect_ns: int) -> None:
        self.events.append(("open", connect_ns))

    def connection_failed(self, error: str) -> None:
        self.events.append(("failed", error))

    def connection_closed(self, error: str | None = None) -> None:
        self.events.append(("closed", error))

    def first_message(self, latency_ns: int) -> None:
        return None

    def push(self, name: str, latency_ns: int, nbytes: int, gap: int = 0, reordered: bool = False) -> None:
        return None

    def error(self, kind: str) -> None:
        self.errors.append(kind)

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value

    def kinds(self, event: str) -> list[Any]:
        return [value for name, value in self.events if name == event]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
        time.sleep(0.05)
    return False


NGINX_LOCATIONS = """
        location = / { default_type text/plain; return 200 'hello from nginx'; }
        location = /json { default_type application/json;
                           return 200 '{"id": 42, "token": "tok-1", "user": {"name": "ada"}, "ok": true}'; }
        location = /chunked { default_type text/plain; sub_filter 'x' 'y'; sub_filter_once off;
                              sub_filter_types *; return 200 'axbxcx-0123456789-xxxx'; }
        location = /old { return 301 /new; }
        location = /new { default_type text/plain; return 200 'new place'; }
        location = /see-other { return 303 /new; }
        location = /temporary { return 307 /new; }
        location = /loop { return 302 /loop; }
        location = /gone { return 404; }
        location = /broken { return 503; }
        location = /cookie { add_header Set-Cookie a=1; add_header Set-Cookie b=2; return 204; }
"""


@dataclass
class NginxServer:
    port: int
    tls_port: int
    cert: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"


@pytest.fixture(scope="session")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    """A private nginx (our own config, free loopback ports, one worker), plain and TLS."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = tmp_path_factory.mktemp("nginx")
    prefix.chmod(0o755)
    cert, key = prefix / "cert.pem", prefix / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    port, tls_port = free_port(), free_port()
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                           "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(f"""
worker_processes 1;
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
{temp}
    server {{
        listen 127.0.0.1:{port};
{NGINX_LOCATIONS}
    }}
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
{NGINX_LOCATIONS}
    }}
}}
""")
    proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        assert _listening(port, deadline) and _listening(tls_port, deadline), "nginx did not start"
        yield NginxServer(port, tls_port, cert)
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def target() -> Iterator[TargetProcess]:
    with TargetProcess("--broadcast-rate", "0", "--jwt-secret", "http-client-tests-secret-long-enough") as process:
        yield process


class Silent:
    """A listening socket that accepts but never answers (read timeouts)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return asyncio.run(main())


def pool_for(url: str, recorder: ListRecorder | None = None, **connector: Any) -> tuple[ConnectionPool, ListRecorder]:
    recorder = recorder or ListRecorder()
    return ConnectionPool(Connector(recorder, **connector), split_url(url)[0]), recorder


# -- URLs -------------------------------------------------------------------------------------
def test_split_url_and_host_header() -> None:
    origin, target = split_url("http://127.0.0.1:8080/a/b?c=1")
    assert origin == Origin("http", "127.0.0.1", 8080)
    assert target == "/a/b?c=1"
    assert origin.host_header == "127.0.0.1:8080"
    assert split_url("https://localhost/")[0].host_header == "localhost"
    assert split_url("http://[::1]:81/x")[0].host_header == "[::1]:81"
    assert split_url("/relative", origin) == (origin, "/relative")
    with pytest.raises(ValueError):
        split_url("ftp://127.0.0.1/")


# -- exchanges --------------------------------------------------------------------------------
def test_keep_alive_requests_share_one_connection(target: TargetProcess) -> None:
    async def go() -> list[int]:
        pool, recorder = pool_for(target.url)
        statuses = []
        for _ in range(3):
            response = await pool.request("GET", "/health")
            statuses.append(response.status)
            assert response.json()["status"] == "ok"
        await pool.close()
        assert len(recorder.kinds("open")) == 1
        assert recorder.kinds("closed") == [None]
        return statuses

    assert run(go) == [200, 200, 200]


def test_post_with_body_to_the_target(target: TargetProcess) -> None:
    async def go() -> tuple[int, bytes]:
        pool, _ = pool_for(target.url)
        response = await pool.request("POST", f"{target.url}/echo", {"Content-Type": "application/json"}, b'{"x":1}')
        await pool.close()
        return response.status, response.body

    assert run(go) == (200, b'{"ok":true}')


def test_head_then_get_on_one_connection(nginx: NginxServer) -> None:
    async def go() -> None:
        pool, recorder = pool_for(nginx.url)
        head = await pool.request("HEAD", "/")
        assert head.status == 200 and head.body == b"" and head.headers["content-length"] == "16"
        get = await pool.request("GET", "/")
        assert get.body == b"hello from nginx"
        assert len(recorder.kinds("open")) == 1
        await pool.close()

    run(go)


def test_chunked_response_from_nginx(nginx: NginxServer) -> None:
    async def go() -> None:
        pool, _ = pool_for(nginx.url)
        response = await pool.request("GET", "/chunked")
        assert response.headers.get("transfer-encoding") == "chunked"
        assert response.body == b"ayby" + b"cy-0123456789-yyyy"
        await pool.close()

    run(go)


def test_no_content_with_repeated_headers(nginx: NginxServer) -> None:
    async def go() -> None:
        pool, _ = pool_for(nginx.url)
        response = await pool.request("GET", "/cookie")
        assert response.status == 204 and response.body == b""
        assert response.headers["set-cookie"] == "a=1, b=2"
        assert (await pool.request("GET", "/")).status == 200
        await pool.close()

    run(go)


def test_tls_with_a_trusted_certificate(nginx: NginxServer) -> None:
    async def go() -> None:
        context = ssl.create_default_context(cafile=str(nginx.cert))
        pool, recorder = pool_for(nginx.tls_url, ssl_context=context)
        assert (await pool.request("GET", "/json")).json()["id"] == 42
        assert (await pool.request("GET", "/")).body == b"hello from nginx"
        assert len(recorder.kinds("open")) == 1
        await pool.close()

    run(go)


def test_tls_with_an_untrusted_certificate_fails_to_connect(nginx: NginxServer) -> None:
    async def go() -> None:
        pool, recorder = pool_for(nginx.tls_url)
        with pytest.raises(HttpConnectionError):
            await pool.request("GET", "/")
        assert recorder.kinds("failed") == ["TLS handshake failed"]

    run(go)


# -- redirects --------------------------------------------------------------------------------
def test_redirects_are_not_followed_unless_asked(nginx: NginxServer) -> None:
    async def go() -> None:
        pool, _ = pool_for(nginx.url)
        response = await pool.request("GET", "/old")
        assert response.status == 301 and response.headers["location"].endswith("/new")
        await pool.close()

    run(go)


@pytest.mark.parametrize(("method", "path"), [("GET", "/old"), ("POST", "/see-other"), ("GET", "/temporary")])
def test_redirects_are_followed(nginx: NginxServer, method: str, path: str) -> None:
    async def go() -> None:
        pool, _ = pool_for(nginx.url)
        response = await pool.request(method, path, body=b"x" if method == "POST" else None, follow_redirects=True)
        assert (response.status, response.body) == (200, b"new place")
        await pool.close()

    run(go)


def test_a_redirect_loop_stops_after_five_hops(nginx: NginxServer) -> None:
    async def go() -> None:
        pool, recorder = pool_for(nginx.url)
        response = await pool.request("GET", "/loop", follow_redirects=True)
        assert response.status == 302
        assert recorder.sent_count == 0  # counts go to the tally, flushed by the behaviour
        tally = pool.connector.tally
        assert tally.sent == 6  # the first request and five redirects
        await pool.close()

    run(go)


# -- failures ---------------------------------------------------------------------------------
def test_read_timeout_on_a_server_that_never_answers() -> None:
    silent = Silent()

    async def go() -> None:
        pool, recorder = pool_for(f"http://127.0.0.1:{silent.port}")
        with pytest.raises(HttpTimeout):
            await pool.request("GET", "/", timeout_s=0.2)
        assert len(recorder.kinds("open")) == 1
        await pool.close()
        assert recorder.kinds("closed") == [None]  # we closed it: not a reset

    try:
        run(go)
    finally:
        silent.close()


def test_connect_timeout_when_the_backlog_is_full() -> None:
    """A listener whose accept queue is full drops new SYNs: the connect never completes."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    port = int(sock.getsockname()[1])
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.2)

    async def go() -> None:
        pool, recorder = pool_for(f"http://127.0.0.1:{port}", connect_timeout_s=0.3)
        with pytest.raises(HttpTimeout):
            await pool.request("GET", "/")
        assert recorder.kinds("failed") == ["Connection timeout"]

    try:
        run(go)
    finally:
        for filler in fillers:
            filler.close()
        sock.close()


def test_connection_refused() -> None:
    port = free_port()

    async def go() -> None:
        pool, recorder = pool_for(f"http://127.0.0.1:{port}")
        with pytest.raises(HttpConnectionError):
            await pool.request("GET", "/")
        assert recorder.kinds("failed") == ["Connection refused"]

    run(go)


async def _serve_once(reply: bytes) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


def test_hang_up_mid_response_is_a_connection_error() -> None:
    async def go() -> None:
        server, port = await _serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
        pool, _ = pool_for(f"http://127.0.0.1:{port}")
        with pytest.raises(HttpConnectionError):
            await pool.request("GET", "/")
        server.close()

    run(go)


def test_body_until_close_is_a_response() -> None:
    async def go() -> None:
        server, port = await _serve_once(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end")
        pool, _ = pool_for(f"http://127.0.0.1:{port}")
        response = await pool.request("GET", "/")
        assert (response.status, response.body) == (200, b"to the end")
        server.close()

    run(go)


def test_garbage_from_the_server_is_a_connection_error() -> None:
    async def go() -> None:
        server, port = await _serve_once(b"this is not http\r\n\r\n")
        pool, _ = pool_for(f"http://127.0.0.1:{port}")
        with pytest.raises(HttpConnectionError):
            await pool.request("GET", "/")
        server.close()

    run(go)


# -- pools and tallies ------------------------------------------------------------------------
def test_idle_store_hands_back_open_connections_and_is_bounded(nginx: NginxServer) -> None:
    async def go() -> None:
        recorder = ListRecorder()
        connector = Connector(recorder)
        origin = split_url(nginx.url)[0]
        idle = IdleConnections(limit=1)
        first = await connector.open(origin)
        second = await connector.open(origin)
        idle.put(first)
        idle.put(second)  # over the limit: closed
        assert len(idle) == 1
        await asyncio.wait_for(second.lost, 2)
        pool = ConnectionPool(connector, origin, idle)
        assert pool.ready(origin) is first
        assert (await pool.request("GET", "/")).status == 200
        pool.release()
        assert idle.take(origin) is first
        idle.put(first)
        idle.close()
        await asyncio.wait_for(first.lost, 2)
        assert not first.reusable

    run(go)


def test_tally_flushes_batched_counts() -> None:
    recorder = ListRecorder()
    tally = Tally()
    tally.sent, tally.received = 3, 2
    tally.statuses[2] = 2
    tally.statuses[5] = 1
    tally.flush(recorder)
    tally.flush(recorder)
    assert (recorder.sent_count, recorder.received_count) == (3, 2)
    assert recorder.counts == {"http.status.2xx": 2, "http.status.5xx": 1}


def test_a_busy_connection_refuses_a_second_request(nginx: NginxServer) -> None:
    async def go() -> None:
        connector = Connector(ListRecorder())
        connection: HttpConnection = await connector.open(split_url(nginx.url)[0])
        results: list[tuple[int, str | None]] = []

        def done(status: int, headers: Any, body: Any, nbytes: int, error: str | None) -> None:
            results.append((status, error))

        now = time.monotonic_ns()
        connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", done, now, 10**9, LEAN)
        connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", done, now, 10**9, LEAN)
        assert results == [(0, "connection error")]
        while len(results) < 2:
            await asyncio.sleep(0.01)
        assert results[1] == (200, None)
        connection.close()

    run(go)
