"""Seed 000's schema-drift mutations as pure functions on JSON values.

Paths are dotted with ``[n]`` list indexes (``data.events[0].x``, an optional leading ``$.``).
A mutation returns a new value and never changes its input: only the containers along the path
are copied, the rest is shared.
"""

from __future__ import annotations

import re
from typing import Any

from ..scenario.enums import MutationType

PathPart = str | int
Path = tuple[PathPart, ...]

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class PathError(ValueError):
    """A field path that cannot be read."""


def parse_path(text: str) -> Path:
    """``"a.b[2].c"`` -> ``("a", "b", 2, "c")``."""
    body = text[2:] if text.startswith("$.") else text
    parts: list[PathPart] = []
    position = 0
    while position < len(body):
        if body[position] == "." and parts:
            position += 1
        match = _TOKEN.match(body, position)
        if match is None:
            raise PathError(f"cannot read field path {text!r} at character {position + 1}")
        name, index = match.groups()
        parts.append(int(index) if index is not None else name)
        position = match.end()
    if not parts:
        raise PathError(f"empty field path {text!r}")
    return tuple(parts)


class _Missing:
    """The path does not lead anywhere in this message."""


MISSING = _Missing()


def _child(container: Any, part: PathPart) -> Any:
    if isinstance(part, int):
        return container[part] if isinstance(container, list) and -len(container) <= part < len(container) \
            else MISSING
    return container.get(part, MISSING) if isinstance(container, dict) else MISSING


def get_path(value: Any, path: Path) -> Any:
    """The value at ``path``, or MISSING."""
    for part in path:
        value = _child(value, part)
        if value is MISSING:
            return MISSING
    return value


def _replace(container: Any, part: PathPart, new: Any) -> Any:
    if isinstance(container, list):
        items = list(container)
        items[int(part)] = new
        return items
    return {**container, part: new}


def _edit_parent(value: Any, path: Path, edit: Any, create: bool = False) -> Any:
    """Copy the spine down to ``path``'s parent and apply ``edit(parent_copy, last_part)`` there."""
    if not path[:-1]:
        if not isinstance(value, dict | list):
            return MISSING
        copy = list(value) if isinstance(value, list) else dict(value)
        return MISSING if edit(copy, path[-1]) is MISSING else copy
    head, rest = path[0], path[1:]
    child = _child(value, head)
    if child is MISSING:
        if not (create and isinstance(value, dict) and isinstance(head, str)):
            return MISSING
        child = {}
    edited = _edit_parent(child, rest, edit, create)
    return MISSING if edited is MISSING else _replace(value, head, edited)


def _set(parent: Any, part: PathPart, new: Any, must_exist: bool) -> Any:
    if isinstance(parent, list):
        if not isinstance(part, int) or not -len(parent) <= part < len(parent):
            return MISSING
    elif not isinstance(parent, dict) or not isinstance(part, str) or (must_exist and part not in parent):
        return MISSING
    parent[part] = new
    return None


def add_field(value: Any, path: Path, new_value: Any) -> Any:
    """Set ``path`` to ``new_value``, creating missing objects on the way."""
    return _edit_parent(value, path, lambda parent, part: _set(parent, part, new_value, False), create=True)


def remove_field(value: Any, path: Path) -> Any:
    def remove(parent: Any, part: PathPart) -> Any:
        if _child(parent, part) is MISSING:
            return MISSING
        del parent[part]
        return None

    return _edit_parent(value, path, remove)


def rename_field(value: Any, path: Path, new_name: str) -> Any:
    """Move the field at ``path`` to ``new_name`` under the same parent object (key order kept)."""
    def rename(parent: Any, part: PathPart) -> Any:
        if not isinstance(parent, dict) or part not in parent:
            return MISSING
        items = [(new_name if key == part else key, item) for key, item in parent.items()]
        parent.clear()
        parent.update(items)
        return None

    return _edit_parent(value, path, rename)


def null_field(value: Any, path: Path) -> Any:
    return _edit_parent(value, path, lambda parent, part: _set(parent, part, None, True))


def changed_type(value: Any) -> Any:
    """The same information as another JSON type, as a producer that changed its schema would send.

    number -> string, numeric string -> number, other string -> [string], bool -> "true"/"false",
    null -> "", object -> list of its values, list -> object keyed "0", "1"...
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return [value]
        return int(number) if number.is_integer() and "." not in value else number
    if value is None:
        return ""
    if isinstance(value, dict):
        return list(value.values())
    return {str(index): item for index, item in enumerate(value)}


def change_type(value: Any, path: Path, new_value: Any = None) -> Any:
    """Give the field at ``path`` another type: ``new_value`` when one is given, else :func:`changed_type`."""
    def change(parent: Any, part: PathPart) -> Any:
        current = _child(parent, part)
        if current is MISSING:
            return MISSING
        parent[part] = changed_type(current) if new_value is None else new_value
        return None

    return _edit_parent(value, path, change)


def apply_mutation(value: Any, kind: MutationType, path: Path, new_value: Any = None,
                   new_name: str | None = None) -> Any:
    """``value`` with one mutation applied, or MISSING when the path is not there to mutate."""
    if kind is MutationType.ADD_FIELD:
        return add_field(value, path, new_value)
    if kind is MutationType.REMOVE_FIELD:
        return remove_field(value, path)
    if kind is MutationType.RENAME_FIELD:
        return rename_field(value, path, new_name or "")
    if kind is MutationType.NULL_FIELD:
        return null_field(value, path)
    return change_type(value, path, new_value)
