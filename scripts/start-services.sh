#!/usr/bin/env bash
# Install and start the real servers the integration tests talk to on loopback:
# mosquitto (127.0.0.1:1883) and nats-server (127.0.0.1:4222), plus nginx and wrk, which
# tests and benchmarks start privately on their own ports. Idempotent: installs only what is
# missing and starts only what is not listening. Debian packages only.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

listening() {  # listening PORT -> true when something accepts on 127.0.0.1:PORT
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto mosquitto-clients)
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
    echo "start-services: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# A fresh nginx package starts a system nginx on port 80; the tests never use it.

if ! listening 1883; then
    echo "start-services: starting mosquitto on 127.0.0.1:1883"
    conf=/etc/mosquitto/mosquitto.conf
    if [ -f "$conf" ]; then
        $SUDO /usr/sbin/mosquitto -d -c "$conf"
    else
        $SUDO /usr/sbin/mosquitto -d -p 1883
    fi
fi
if ! listening 4222; then
    echo "start-services: starting nats-server on 127.0.0.1:4222"
    $SUDO mkdir -p /var/lib/nats-server
    $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
        -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi
for port in 1883 4222; do
    for _ in $(seq 1 50); do
        listening "$port" && break
        sleep 0.1
    done
    listening "$port" || { echo "start-services: nothing listens on 127.0.0.1:$port" >&2; exit 1; }
done
echo "start-services: mosquitto :1883 and nats-server :4222 are up"
