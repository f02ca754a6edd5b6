"""Drive headless Chromium from the stdlib: --dump-dom and --screenshot, console captured from stderr."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "install it with `bash scripts/install-browser.sh` (Debian package `chromium`), or set STB_CHROMIUM"

BASE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    # Belt and braces on top of the page's CSP: no host name resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=5000",
)

_MARKER_RE = re.compile(r'<pre id="stb-render-check"[^>]*>(.*?)</pre>', re.S)
_CONSOLE_RE = re.compile(r"^\[[^\]]*:CONSOLE[^\]]*\].*$", re.M)


def find_chromium() -> str | None:
    env = os.environ.get("STB_CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class DomResult:
    dom: str
    stderr: str
    marker: dict[str, Any]
    console: list[str]


def _run(binary: str, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="stb-chromium-") as profile:
        cmd = [binary, *BASE_FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(binary: str, page: Path, timeout: float = 90) -> DomResult:
    proc = _run(binary, ["--window-size=1280,900", "--dump-dom", page.resolve().as_uri()], timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}")
    m = _MARKER_RE.search(proc.stdout)
    marker: dict[str, Any] = json.loads(unescape(m.group(1))) if m else {}
    return DomResult(proc.stdout, proc.stderr, marker, _CONSOLE_RE.findall(proc.stderr))


def screenshot(binary: str, page: Path, out: Path, size: str = "1280,5200", timeout: float = 90) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = _run(binary, [f"--window-size={size}", f"--screenshot={out.resolve()}", page.resolve().as_uri()], timeout)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"chromium screenshot failed ({proc.returncode}): {proc.stderr[-2000:]}")
