"""Load only goes to loopback: a guard checked before any worker starts."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from ..scenario.errors import Problem, ScenarioError
from ..scenario.model import LoadSpec, Scenario

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


def endpoint_host(endpoint: str) -> str:
    text = endpoint if "://" in endpoint else f"tcp://{endpoint}"
    return (urlsplit(text).hostname or "").lower()


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def check_loopback(scenario: Scenario) -> None:
    """Refuse to send load anywhere but this machine's loopback addresses."""
    specs: list[LoadSpec] = [scenario, *scenario.groups]
    for spec in specs:
        if spec.endpoint and not is_loopback(endpoint_host(spec.endpoint)):
            raise ScenarioError([Problem(
                "<run>", "endpoint", f"'{spec.endpoint}' is not a loopback address",
                hint="this build sends load only to 127.0.0.0/8, ::1 or localhost",
            )])
