"""A small JSON path reader for checks, captures and dotted template variables.

Scenario files write paths as Artillery and k6 do: ``data.users[0].id``, optionally
prefixed ``$.``. Only keys and list indexes are needed (no filters or wildcards), so a
path compiles once into a tuple of steps and reading it is a short loop. A key made of
digits also indexes a list (``users.0.id``), as k6's ``json()`` selector allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final


class _Missing:
    """The value of a path that is absent; distinct from JSON ``null``."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()

_STEP = re.compile(r"""
      \.?(?P<key>[^.\[\]'"\s]+)                                # .key or a leading key (dashes allowed)
    | \[(?P<index>-?\d+)\]                                    # [3] or [-1]
    | \[(?P<quote>['"])(?P<quoted>(?:(?!(?P=quote)).)*)(?P=quote)\]   # ['a key'] or ["a.b"]
""", re.VERBOSE)

Step = str | int
Getter = Callable[[Any], Any]


def parse_path(path: str) -> tuple[Step, ...]:
    """Split ``path`` into keys (str) and indexes (int); ValueError names a malformed path."""
    text = path.strip()
    if text in ("$", "$."):
        return ()
    if text.startswith(("$.", "$[")):
        text = text[2:] if text[1] == "." else text[1:]  # a key may start with "$" ("$oid")
    if not text:
        raise ValueError(f"empty JSON path {path!r}")
    steps: list[Step] = []
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        leading_dot = match is not None and match.group(0).startswith(".")
        if match is None or (match.group("key") is not None and leading_dot and position == 0):
            raise ValueError(f"malformed JSON path {path!r} at character {position + 1}; "
                             "write keys with dots and indexes in brackets, e.g. data.users[0].id")
        if match.group("key") is not None:
            if not leading_dot and position > 0:
                raise ValueError(f"malformed JSON path {path!r} at character {position + 1}: "
                                 "a key follows an index without a dot")
            steps.append(match.group("key"))
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        else:
            steps.append(match.group("quoted"))
        position = match.end()
    if text.endswith("."):
        raise ValueError(f"malformed JSON path {path!r}: it ends with a dot")
    return tuple(steps)


def read_steps(value: Any, steps: tuple[Step, ...]) -> Any:
    """Follow ``steps`` into ``value``; MISSING as soon as one step does not apply."""
    for step in steps:
        if isinstance(value, dict):
            if isinstance(step, int):
                return MISSING
            value = value.get(step, MISSING)
            if value is MISSING:
                return MISSING
        elif isinstance(value, list):
            if isinstance(step, str):
                if not step.isdigit():
                    return MISSING
                step = int(step)
            if not -len(value) <= step < len(value):
                return MISSING
            value = value[step]
        else:
            return MISSING
    return value


def single_key(path: str) -> str | None:
    """The key when ``path`` is one object key (``id``, ``$.id``), else None: callers read such paths inline."""
    steps = parse_path(path)
    return steps[0] if len(steps) == 1 and isinstance(steps[0], str) else None


def compile_path(path: str) -> Getter:
    """A reader for ``path`` (``data.users[0].id``, ``$.data``...) returning MISSING when absent."""
    steps = parse_path(path)
    if not steps:
        return lambda value: value
    if len(steps) == 1 and isinstance(steps[0], str):
        key = steps[0]

        def read_key(value: Any) -> Any:
            if value.__class__ is dict:
                return value.get(key, MISSING)
            return read_steps(value, steps)

        return read_key
    if len(steps) == 2 and isinstance(steps[0], str) and isinstance(steps[1], str):
        first, second = steps

        def read_two_keys(value: Any) -> Any:
            inner = value.get(first, MISSING) if value.__class__ is dict else MISSING
            if inner.__class__ is dict:
                return inner.get(second, MISSING)
            return read_steps(value, steps)  # lists with digit keys, subclasses: the general walk

        return read_two_keys
    return lambda value: read_steps(value, steps)
