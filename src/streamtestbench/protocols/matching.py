"""Whether a received message is the one an ``expect`` waits for: JSON fields (subset) and/or text.

Pure: no I/O, so it is tested with plain values. The hot-path pairings (reply type, correlation
id, echo) live in the connection; this covers the rarer explicit expectations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SubsetMatch", "subset_match"]


def subset_match(actual: Any, expected: Any) -> bool:
    """``expected`` is contained in ``actual``: mappings by key (recursively), anything else by equality."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        return all(key in actual and subset_match(actual[key], value) for key, value in expected.items())
    return bool(actual == expected)


@dataclass(frozen=True, slots=True)
class SubsetMatch:
    """Every ``fields`` entry present and equal (nested mappings: subset), and ``contains`` in the raw frame.

    Server broadcasts are offered only to a matcher that asks for ``"type": "broadcast"``.
    """

    fields: tuple[tuple[str, Any], ...] = ()
    contains: bytes | None = None

    @classmethod
    def of(cls, match: Mapping[str, Any] | None = None, contains: str | bytes | None = None) -> SubsetMatch:
        raw = contains.encode() if isinstance(contains, str) else contains
        return cls(tuple((match or {}).items()), raw)

    @property
    def wants_broadcasts(self) -> bool:
        return any(key == "type" and value == "broadcast" for key, value in self.fields)

    def accepts(self, data: bytes, message: dict[str, Any] | None) -> bool:
        if self.contains is not None and self.contains not in data:
            return False
        if not self.fields:
            return True
        if message is None:
            return False
        return all(key in message and subset_match(message[key], expected) for key, expected in self.fields)
