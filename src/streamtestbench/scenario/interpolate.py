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


Path = tuple[str | int, ...]


class MissingVariable(ValueError):
    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        super().__init__(f"environment variable {name} is not set")


def _substitute(text: str, env: Mapping[str, str], path: Path, keep: frozenset[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name in keep:
            return match.group(0)
        value = env.get(name)
        if default is not None and not value:
            return default  # ':-' as in POSIX shells: unset or empty takes the default
        if value is not None:
            return value
        raise MissingVariable(name, path)

    return _REFERENCE.sub(replace, text)


def declared_names(data: Any) -> frozenset[str]:
    """Names filled while the scenario runs: ``variables`` keys and every ``capture ... as``."""
    names: set[str] = set(RUNTIME_NAMES)
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("variables"), dict):
                names.update(str(key) for key in node["variables"])
            captures = node.get("capture")
            if isinstance(captures, list):
                names.update(str(c["as"]) for c in captures if isinstance(c, dict) and isinstance(c.get("as"), str))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(names)


def interpolate(data: Any, env: Mapping[str, str], path: Path = (), keep: frozenset[str] | None = None) -> Any:
    """Return ``data`` with environment references in every string replaced."""
    if keep is None:
        keep = declared_names(data)
    if isinstance(data, str):
        return _substitute(data, env, path, keep)
    if isinstance(data, dict):
        return {key: interpolate(value, env, (*path, key), keep) for key, value in data.items()}
    if isinstance(data, list):
        return [interpolate(item, env, (*path, index), keep) for index, item in enumerate(data)]
    return data


_ANY_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)((?::-[^}]*)?)\}")


def escape_literals(data: Any, keep: frozenset[str]) -> Any:
    """Write ``${X}`` back as ``$${X}`` unless X is filled at run time, so saved data reloads unchanged."""
    if isinstance(data, str):
        return _ANY_REFERENCE.sub(lambda m: m.group(0) if m.group(1) in keep else "$" + m.group(0), data)
    if isinstance(data, dict):
        return {key: escape_literals(value, keep) for key, value in data.items()}
    if isinstance(data, list):
        return [escape_literals(item, keep) for item in data]
    return data

