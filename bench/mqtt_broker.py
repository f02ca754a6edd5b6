"""A private mosquitto for the MQTT benchmarks, on a free loopback port, pinned to a core.

Debian's mosquitto with its own config in a temporary folder (never the shared broker on 1883):
anonymous, no persistence, and a per-client queue deep enough that the end-to-end run does not lose
QoS 0 messages to a subscriber that briefly falls behind (mosquitto's default of 1,000 would).
Started fresh for every benchmark run and stopped by its id.

    .venv/bin/python bench/mqtt_broker.py      # start one, print its URL, stop on Ctrl-C
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from nginx import SERVER_CORE, free_port, wait_listening

MAX_QUEUED_MESSAGES = 10_000_000
MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")


def mosquitto_config(port: int, folder: Path, *, host: str = "127.0.0.1",
                     max_queued: int = MAX_QUEUED_MESSAGES) -> str:
    return f"""\
# Written by bench/mqtt_broker.py for one benchmark run.
user root
per_listener_settings false
allow_anonymous true
persistence false
listener {port} {host}
max_queued_messages {max_queued}
max_queued_bytes 0
max_inflight_messages 0
max_connections -1
sys_interval 1
log_dest file {folder / "mosquitto.log"}
log_type error
log_type warning
"""


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next((p for p in MOSQUITTO_CANDIDATES if Path(p).is_file()), None)


def mosquitto_version(binary: str) -> str:
    try:
        done = subprocess.run([binary, "-h"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    first = (done.stdout or done.stderr).decode("utf-8", "replace").splitlines()
    words = first[0].split() if first else []
    return next((w for w in words if w[:1].isdigit()), "")


class Mosquitto:
    """Start/stop one private mosquitto, pinned with taskset to ``core``."""

    def __init__(self, core: int | None = SERVER_CORE, host: str = "127.0.0.1",
                 max_queued: int = MAX_QUEUED_MESSAGES) -> None:
        self.core = core
        self.host = host
        self.max_queued = max_queued
        self.port = 0
        self.pid = 0
        self.version = ""
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout_s: float = 15.0) -> Mosquitto:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.version = mosquitto_version(binary)
        self._dir = Path(tempfile.mkdtemp(prefix="stb-mosquitto-"))
        for _attempt in range(3):
            self.port = free_port(self.host)
            conf = self._dir / "mosquitto.conf"
            conf.write_text(mosquitto_config(self.port, self._dir, host=self.host, max_queued=self.max_queued))
            prefix = ["taskset", "-c", str(self.core)] if self.core is not None and shutil.which("taskset") else []
            self._proc = subprocess.Popen([*prefix, binary, "-c", str(conf)], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True)
            self.pid = self._proc.pid
            if wait_listening(self.host, self.port, timeout_s, self._proc):
                return self
            self._kill()
        log = self.log_tail()
        self.stop()
        raise RuntimeError(f"mosquitto did not start on {self.host}:{self.port}: {log}")

    def publishes_received(self, interval_s: float = 1.1, tries: int = 6) -> int | None:
        """PUBLISH packets the broker has received since it started, from its ``$SYS`` counter: the check that
        a publisher's own count reached the broker. The counter is refreshed every second (``sys_interval 1``)
        and lags a busy broker, so it is read until two readings a refresh apart agree. None: unreadable."""
        previous: int | None = None
        for _ in range(tries):
            time.sleep(interval_s)
            current = self._sys_counter("$SYS/broker/publish/messages/received")
            if current is not None and current == previous:
                return current
            previous = current
        return previous

    def _sys_counter(self, topic: str) -> int | None:
        client = shutil.which("mosquitto_sub")
        if client is None:
            return None
        try:
            done = subprocess.run([client, "-h", self.host, "-p", str(self.port), "-t", topic, "-C", "1", "-W", "5"],
                                  capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        text = done.stdout.decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None

    def log_tail(self, limit: int = 400) -> str:
        if self._dir is None:
            return ""
        with contextlib.suppress(OSError):
            lines = (self._dir / "mosquitto.log").read_text(errors="replace").strip().splitlines()
            return " / ".join(lines[-3:])[-limit:]
        return ""

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        self._kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    with Mosquitto() as broker:
        print(f"mosquitto {broker.version} listening on {broker.url} (pid {broker.pid}, core {broker.core}); "
              "Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
