"""A private mosquitto for the MQTT benchmarks, on a free loopback port, pinned to a core.

Debian's mosquitto with its own config in a temporary folder (never the shared broker on 1883):
anonymous, no persistence, and a per-client queue deep enough that the end-to-end run does not lose
QoS 0 messages to a subscriber that briefly falls behind (mosquitto's default of 1,000 would).
Started fresh for every benchmark run and stopped by its id.

    .venv/bin/python bench/mqtt_broker.py      # start one, print its URL, stop on Ctrl-C
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from pinned_server import SERVER_CORE, PinnedServer

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


class Mosquitto(PinnedServer):
    """One private mosquitto; it can also read back how many publishes the broker received."""

    name = "mosquitto"
    scheme = "mqtt"
    log_file = "mosquitto.log"

    def __init__(self, core: int | None = SERVER_CORE, host: str = "127.0.0.1",
                 max_queued: int = MAX_QUEUED_MESSAGES) -> None:
        super().__init__(core, host)
        self.max_queued = max_queued

    def binary(self) -> str | None:
        return mosquitto_binary()

    def version_of(self, binary: str) -> str:
        return mosquitto_version(binary)

    def config(self, port: int, folder: Path) -> str:
        return mosquitto_config(port, folder, host=self.host, max_queued=self.max_queued)

    def argv(self, binary: str, conf: Path, folder: Path) -> list[str]:
        return [binary, "-c", str(conf)]

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


if __name__ == "__main__":
    Mosquitto().serve_until_interrupted()
