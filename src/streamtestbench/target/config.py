"""The reference target's settings as plain data, validated before any socket is opened."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .faults import Fault

__all__ = ["DEFAULT_PASSWORD", "DEFAULT_USERNAME", "TargetConfig", "TargetConfigError", "is_loopback_host"]

# Seed 004's login credentials, so its scripts run against the target unchanged.
DEFAULT_USERNAME = "loadtest"
DEFAULT_PASSWORD = "loadtestpassword"


class TargetConfigError(ValueError):
    """A setting the target refuses to start with."""


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: the only places load may be aimed at here."""
    candidate = host.strip()
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    if candidate.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(candidate).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """Everything ``streamtestbench target`` can be told; see ``command.py`` for the flags."""

    host: str = "127.0.0.1"
    port: int = 8000
    auth: bool = False
    jwt_secret: str = ""
    rate_limit: float | None = None
    faults: tuple[Fault, ...] = ()
    broadcast_rate: float = 1.0
    seed: int | None = None
    workers: int = 1
    username: str = DEFAULT_USERNAME
    password: str = DEFAULT_PASSWORD
    token_ttl_seconds: int = 86_400
    use_uvloop: bool = True
    use_aiofastnet: bool = True
    backlog: int = 4096
    max_frame_size: int = 16 * 1024 * 1024
    nats_url: str | None = None
    relays: tuple[str, ...] = ()

    def validate(self) -> None:
        """Raise :class:`TargetConfigError` naming the first bad setting."""
        if not is_loopback_host(self.host):
            raise TargetConfigError(
                f"refusing to listen on {self.host!r}: the target only binds loopback addresses "
                "(127.0.0.0/8, ::1 or localhost)"
            )
        if not 0 <= self.port <= 65_535:
            raise TargetConfigError(f"port must be 0..65535, got {self.port}")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise TargetConfigError(f"--rate-limit must be positive, got {self.rate_limit}")
        if self.broadcast_rate < 0:
            raise TargetConfigError(f"--broadcast-rate must be >= 0, got {self.broadcast_rate}")
        if self.workers < 1:
            raise TargetConfigError(f"--workers must be >= 1, got {self.workers}")
        if not self.jwt_secret:
            raise TargetConfigError("a JWT secret is required (pass --jwt-secret or set STB_JWT_SECRET)")
        self._validate_relay()

    def _validate_relay(self) -> None:
        """--relay needs --nats; both point at loopback and parse (seed 001's broker feed)."""
        if not self.relays and not self.nats_url:
            return
        from ..protocols.nats import parse_url
        from .nats_relay import parse_relay

        if not self.nats_url:
            raise TargetConfigError("--relay needs --nats nats://127.0.0.1:4222")
        if not self.relays:
            raise TargetConfigError("--nats needs at least one --relay SUBJECT")
        try:
            host = parse_url(self.nats_url).host
            for spec in self.relays:
                parse_relay(spec)
        except ValueError as exc:
            raise TargetConfigError(str(exc)) from None
        if not is_loopback_host(host):
            raise TargetConfigError(f"--nats must be a loopback address, got {self.nats_url!r}")

    @property
    def bind_host(self) -> str:
        """The host as the socket layer wants it (``[::1]`` -> ``::1``)."""
        host = self.host.strip()
        if host.startswith("[") and host.endswith("]"):
            return host[1:-1]
        return host

    def url_host(self) -> str:
        """The host as it appears in a URL (IPv6 in brackets)."""
        host = self.bind_host
        return f"[{host}]" if ":" in host else host
