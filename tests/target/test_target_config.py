"""Config validation and the loopback rule (target/config.py), listening-line parsing (process.py)."""

from __future__ import annotations

import pytest

from streamtestbench.target.config import TargetConfig, TargetConfigError, is_loopback_host
from streamtestbench.target.process import parse_listening_line
from streamtestbench.target.server import listening_line


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "192.168.1.5", "8.8.8.8", "example.com", ""])
def test_other_hosts_are_refused(host: str) -> None:
    assert not is_loopback_host(host)
    with pytest.raises(TargetConfigError, match="loopback"):
        TargetConfig(host=host, jwt_secret="s").validate()


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"port": 70000}, "port"),
        ({"rate_limit": 0.0}, "rate-limit"),
        ({"broadcast_rate": -1.0}, "broadcast-rate"),
        ({"workers": 0}, "workers"),
        ({"jwt_secret": ""}, "secret"),
    ],
)
def test_bad_settings_are_named(changes: dict[str, object], needle: str) -> None:
    config = TargetConfig(**{"jwt_secret": "s", **changes})  # type: ignore[arg-type]
    with pytest.raises(TargetConfigError, match=needle):
        config.validate()


def test_url_host_brackets_ipv6() -> None:
    assert TargetConfig(host="::1").url_host() == "[::1]"
    assert TargetConfig(host="[::1]").bind_host == "::1"
    assert TargetConfig(host="127.0.0.1").url_host() == "127.0.0.1"


def test_listening_line_round_trips() -> None:
    line = listening_line("127.0.0.1", 8123)
    assert line == "streamtestbench target listening on http://127.0.0.1:8123 (ws://127.0.0.1:8123/ws)"
    assert parse_listening_line(line) == ("127.0.0.1", 8123)
    assert parse_listening_line(listening_line("[::1]", 9)) == ("[::1]", 9)
    with pytest.raises(ValueError):
        parse_listening_line("hello")
