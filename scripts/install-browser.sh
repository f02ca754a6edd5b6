#!/usr/bin/env bash
# Install headless Chromium for the HTML report's browser tests (tests/outputs/test_html_browser.py).
# Idempotent: does nothing when a Chromium binary is already on PATH. Debian package `chromium`
# (binary /usr/bin/chromium). Needs root or sudo; apt-get only, nothing downloaded from elsewhere.
set -euo pipefail

for bin in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$bin" >/dev/null 2>&1; then
        echo "install-browser: $bin already installed ($(command -v "$bin"))"
        exit 0
    fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-browser: need root (or sudo) to apt-get install chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "install-browser: chromium still missing" >&2; exit 1; }
echo "install-browser: installed $(command -v chromium)"
