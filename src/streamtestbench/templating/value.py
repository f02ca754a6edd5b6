"""Compile JSON values (request bodies, GraphQL variables, RPC params) holding templates.

Only the paths that hold a template are rebuilt per render: a dict or list keeps a
pre-built copy of its static items and overwrites the dynamic ones, so a large body with
one ``${vu}`` costs one shallow copy per level on that path plus the expression.
Static sub-trees are shared between renders: treat rendered values as read-only (copy
before mutating, e.g. for schema-drift injection).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import orjson

from .context import RenderContext
from .text import CompiledText, compile_text

_Render = Callable[[RenderContext], Any]


def _compile_node(value: Any, declared: Collection[str] | None) -> tuple[bool, Any]:
    """(is_static, value or render function) for one JSON node."""
    if isinstance(value, str):
        text = compile_text(value, declared=declared)
        static_text = text.static_text
        return (True, static_text) if static_text is not None else (False, text.value_renderer())
    if isinstance(value, dict):
        return _compile_dict(value, declared)
    if isinstance(value, list | tuple):
        return _compile_list(list(value), declared)
    return True, value


def _compile_dict(value: dict[Any, Any], declared: Collection[str] | None) -> tuple[bool, Any]:
    base: dict[Any, Any] = {}
    dynamic: list[tuple[Any, _Render]] = []
    dynamic_keys: list[tuple[CompiledText, bool, Any]] = []
    for key, item in value.items():
        static, compiled = _compile_node(item, declared)
        key_text = compile_text(key, declared=declared) if isinstance(key, str) else None
        if key_text is not None and not key_text.is_static:
            dynamic_keys.append((key_text, static, compiled))
            continue
        base[key] = compiled if static else None  # a placeholder keeps the key's position
        if not static:
            dynamic.append((key, compiled))
    if dynamic_keys:
        return False, _render_dict_with_keys(value, declared)
    if not dynamic:
        return True, base  # equal to ``value`` unless an escape or an environment value was resolved

    def render(ctx: RenderContext) -> dict[Any, Any]:
        result = base.copy()
        for key, item in dynamic:
            result[key] = item(ctx)
        return result

    return False, render


def _render_dict_with_keys(value: dict[Any, Any], declared: Collection[str] | None) -> _Render:
    """Rare: templated keys; rebuild the whole mapping in order."""
    entries = [(compile_text(key, declared=declared) if isinstance(key, str) else key,
                compile_value(item, declared=declared)) for key, item in value.items()]

    def render(ctx: RenderContext) -> dict[Any, Any]:
        return {(key.render(ctx) if isinstance(key, CompiledText) else key): item.render(ctx)
                for key, item in entries}

    return render


def _compile_list(value: list[Any], declared: Collection[str] | None) -> tuple[bool, Any]:
    base: list[Any] = []
    dynamic: list[tuple[int, _Render]] = []
    for index, item in enumerate(value):
        static, compiled = _compile_node(item, declared)
        base.append(compiled if static else None)
        if not static:
            dynamic.append((index, compiled))
    if not dynamic:
        return True, base

    def render(ctx: RenderContext) -> list[Any]:
        result = base.copy()
        for index, item in dynamic:
            result[index] = item(ctx)
        return result

    return False, render


class CompiledValue:
    """A JSON value compiled once; ``render`` returns the value itself when nothing in it is templated."""

    __slots__ = ("_render", "_value", "is_static")

    def __init__(self, value: Any, *, declared: Collection[str] | None = None) -> None:
        static, compiled = _compile_node(value, declared)
        self.is_static: bool = static
        self._value: Any = compiled if static else None
        self._render: _Render | None = None if static else compiled

    def render(self, ctx: RenderContext) -> Any:
        if self._render is None:
            return self._value
        return self._render(ctx)

    def render_static(self) -> Any:
        """The value of a static template (no context needed); ValueError when it is dynamic."""
        if self._render is not None:
            raise ValueError("this value holds templates; render it with a RenderContext")
        return self._value


class CompiledBody:
    """A JSON request body: static bodies are encoded once, dynamic ones rendered then encoded."""

    __slots__ = ("_bytes", "_value", "is_static")

    def __init__(self, value: Any, *, declared: Collection[str] | None = None) -> None:
        self._value = CompiledValue(value, declared=declared)
        self.is_static = self._value.is_static
        self._bytes = orjson.dumps(self._value.render_static()) if self.is_static else b""

    def render_bytes(self, ctx: RenderContext) -> bytes:
        if self.is_static:
            return self._bytes
        return orjson.dumps(self._value.render(ctx))

    def render(self, ctx: RenderContext) -> Any:
        """The body as a value (for callers that add fields before encoding)."""
        return self._value.render(ctx)


def compile_value(value: Any, *, declared: Collection[str] | None = None) -> CompiledValue:
    """Compile any JSON value; a string that is exactly one expression renders with the value's type."""
    return CompiledValue(value, declared=declared)


def compile_json_body(value: Any, *, declared: Collection[str] | None = None) -> CompiledBody:
    """Compile a JSON body; ``render_bytes`` gives the orjson encoding."""
    return CompiledBody(value, declared=declared)
