"""Compile a template string once into literal text and readers; render concatenates.

Syntax: ``${name}``, ``{{ name }}``, ``{{ $env.NAME }}`` and ``{{ $function(args) }}``.

Escapes and load-time interpolation. The scenario loader has already replaced environment
references (``${HOME}``) and turned the escape ``$${`` into a literal ``${``; it leaves
``${name}`` alone only for names filled at run time (``variables`` keys, ``capture ... as``,
``vu``, ``iteration``, data fields). So a ``${X}`` that reaches a template is either such a
name or text the author escaped. Pass ``declared`` (the run-time names) to keep the second
kind literal; without it every ``${X}`` is a variable. A ``$${`` that reaches a template is
itself an escape and renders ``${``: write ``$$${vu}`` in a file for the literal text
``${vu}`` (the loader takes one ``$``, the template the other). ``{{`` has no escape; an
unclosed ``{{`` is an error rather than silently sent text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

import orjson

from .context import RenderContext
from .errors import TemplateError
from .expressions import Constant, Reader, compile_expression, is_variable_path, variable_reader

_TOKEN = re.compile(r"\$\$\{|\$\{(?P<dollar>[^{}]*)\}|\{\{(?P<braces>.*?)\}\}", re.DOTALL)
_BUILTIN_NAMES = frozenset({"vu", "iteration"})


def to_text(value: Any) -> str:
    """How a value reads inside text: strings as they are, everything else as JSON (true, null, [1])."""
    kind = value.__class__
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int or kind is float:  # bool's class is bool, so true stays "true" below
        return str(value)
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


TextRenderer = Callable[[RenderContext], str]


def _text_renderer(parts: tuple[str | Reader, ...]) -> TextRenderer:
    """A renderer shaped for the common templates: one or two expressions inside literal text, joined by one
    f-string (no list per call); strings and ints, the usual values, are formatted as they are."""
    dynamic = [part for part in parts if not isinstance(part, str)]
    if len(dynamic) <= 2:
        first = next(i for i, part in enumerate(parts) if not isinstance(part, str))
        prefix = "".join(part for part in parts[:first] if isinstance(part, str))
        read = dynamic[0]
        if len(dynamic) == 1:
            suffix = "".join(part for part in parts[first + 1:] if isinstance(part, str))

            def render_one(ctx: RenderContext) -> str:
                value = read(ctx)
                if value.__class__ is not str and value.__class__ is not int:
                    value = to_text(value)
                return f"{prefix}{value}{suffix}"

            return render_one
        second = next(i for i, part in enumerate(parts) if i > first and not isinstance(part, str))
        middle = "".join(part for part in parts[first + 1:second] if isinstance(part, str))
        suffix = "".join(part for part in parts[second + 1:] if isinstance(part, str))
        read_second = dynamic[1]

        def render_two(ctx: RenderContext) -> str:
            one = read(ctx)
            if one.__class__ is not str and one.__class__ is not int:
                one = to_text(one)
            two = read_second(ctx)
            if two.__class__ is not str and two.__class__ is not int:
                two = to_text(two)
            return f"{prefix}{one}{middle}{two}{suffix}"

        return render_two
    chunks = tuple(part if isinstance(part, str) else None for part in parts)
    readers = tuple((index, part) for index, part in enumerate(parts) if not isinstance(part, str))

    def render(ctx: RenderContext) -> str:
        pieces = list(chunks)
        for index, read in readers:
            pieces[index] = to_text(read(ctx))
        return "".join(pieces)  # type: ignore[arg-type]

    return render


def _has_expression(text: str) -> bool:
    return "${" in text or "{{" in text


class CompiledText:
    """A template string compiled once; ``render`` costs an attribute read when it is static."""

    __slots__ = ("_render", "_text", "is_static", "parts", "reader", "source")

    def __init__(self, source: str, parts: list[str | Reader]) -> None:
        self.source = source
        self.parts: tuple[str | Reader, ...] = tuple(parts)
        """Literal text and the readers of its expressions, in order (for callers that specialise rendering)."""
        self.is_static = all(isinstance(part, str) for part in parts)
        self._text = "".join(part for part in parts if isinstance(part, str)) if self.is_static else ""
        self._render: TextRenderer | None = None if self.is_static else _text_renderer(tuple(parts))
        single = parts[0] if len(parts) == 1 and not isinstance(parts[0], str) else None
        self.reader: Reader | None = single
        """The expression's reader when the template is exactly one expression (native value), else None."""

    @property
    def static_text(self) -> str | None:
        """The rendered text of a static template (escapes and environment values applied), else None."""
        return self._text if self._render is None else None

    def render(self, ctx: RenderContext) -> str:
        if self._render is None:
            return self._text
        return self._render(ctx)

    def renderer(self) -> TextRenderer:
        """The fastest callable giving ``render`` (for callers that render many times)."""
        if self._render is not None:
            return self._render
        text = self._text
        return lambda ctx: text

    def value_renderer(self) -> Callable[[RenderContext], Any]:
        """The fastest callable giving ``render_value`` (for callers that render many times)."""
        if self.reader is not None:
            return self.reader
        if self._render is not None:
            return self._render
        text = self._text
        return lambda ctx: text

    def render_value(self, ctx: RenderContext) -> Any:
        """Like ``render``, but a template that is exactly one expression keeps the value's type."""
        if self.reader is not None:
            return self.reader(ctx)
        return self.render(ctx)

    def __repr__(self) -> str:
        return f"CompiledText({self.source!r})"


def _dollar_part(match: re.Match[str], declared: Collection[str] | None) -> str | Reader:
    """``${name}`` or ``${name:-default}`` (the loader keeps both forms for run-time names)."""
    inner, has_default, default = match.group("dollar").partition(":-")
    inner = inner.strip()
    if not is_variable_path(inner):
        return match.group(0)  # not a name (``${1}``, ``${a b}``): text, as the loader left it
    head = re.split(r"[.\[]", inner, maxsplit=1)[0]
    if declared is not None and head not in declared and head not in _BUILTIN_NAMES:
        return match.group(0)
    return variable_reader(inner, default if has_default else None)


def compile_text(text: str, *, declared: Collection[str] | None = None) -> CompiledText:
    """Compile ``text``; TemplateError (naming ``text``) for an unknown function or malformed expression."""
    if not _has_expression(text):
        return CompiledText(text, [text] if text else [])
    parts: list[str | Reader] = []
    position = 0

    def literal(chunk: str, source: bool = True) -> None:
        if source and "{{" in chunk:
            raise TemplateError(f"unclosed '{{{{' in {text!r}; close it with '}}}}'")
        if chunk:
            if parts and isinstance(parts[-1], str):
                parts[-1] += chunk
            else:
                parts.append(chunk)

    for match in _TOKEN.finditer(text):
        literal(text[position:match.start()])
        position = match.end()
        token = match.group(0)
        if token == "$${":
            literal("${", source=False)
        elif match.group("dollar") is not None:
            part = _dollar_part(match, declared)
            if isinstance(part, str):
                literal(part, source=False)
            else:
                parts.append(part)
        else:
            compiled = compile_expression(match.group("braces"), text)
            if isinstance(compiled, Constant):
                literal(compiled.value, source=False)
            else:
                parts.append(compiled)
    literal(text[position:])
    return CompiledText(text, parts)
