"""``${VAR}`` and ``${VAR:-default}`` substitution in scenario string values.

Seeds 001 and 003 configure their tests through WS_URL, AUTH_TOKEN, CONNECTIONS and
MESSAGES. Substitution happens on parsed string values, never on raw text, so a value
can never break the file's syntax. ``$${`` writes a literal ``${``. Names that the
engine fills per virtual user (``${clientId}``, ``${vu}``) are left for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
RUNTIME_NAMES = frozenset({"clientId", "vu", "iteration", "worker"})
_WHOLE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$")


class MissingVariable(ValueError):
    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        super().__init__(f"environment variable {name} is not set")


def _substitute(text: str, env: Mapping[str, str], path: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name in RUNTIME_NAMES:
            return match.group(0)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise MissingVariable(name, path)

    return _REFERENCE.sub(replace, text)


def interpolate(data: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Return ``data`` with environment references in every string replaced."""
    if isinstance(data, str):
        return _substitute(data, env, path)
    if isinstance(data, dict):
        return {key: interpolate(value, env, f"{path}.{key}" if path else str(key))
                for key, value in data.items()}
    if isinstance(data, list):
        return [interpolate(item, env, f"{path}.{index}") for index, item in enumerate(data)]
    return data


def is_whole_reference(text: str) -> bool:
    """True when a string is one reference and nothing else (its value may be a number)."""
    return bool(_WHOLE.match(text))
