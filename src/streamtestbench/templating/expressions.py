"""Compile the inside of ``${...}`` or ``{{ ... }}`` into a reader of the render context.

An expression is a variable (``vu``, ``token``, ``auth.accessToken``, ``user[0]``), an
environment value (``$env.NAME``, read once at compile: the environment of a run does
not change), or a function call with literal arguments (``$randomInt(1, 10)``).
Readers return native values (int, str, captured JSON); the caller decides whether to
turn them into text.
"""

from __future__ import annotations

import ast
import os
import re
import string
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..flows.jsonpath import MISSING, parse_path, read_steps
from .context import RenderContext
from .errors import TemplateError

Reader = Callable[[RenderContext], Any]

NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_VARIABLE = re.compile(rf"(?P<head>{NAME})(?P<rest>(?:\.[^.\[\]\s]+|\[-?\d+\])*)")
_ENV = re.compile(rf"\$env\.(?P<name>{NAME})")
_CALL = re.compile(rf"\$(?P<name>{NAME})\s*\((?P<args>.*)\)", re.DOTALL)
_ALPHANUMERIC = string.ascii_letters + string.digits

def _read_vu(ctx: RenderContext) -> Any:
    return ctx.variables.get("vu", ctx.vu)


def _read_iteration(ctx: RenderContext) -> Any:
    return ctx.variables.get("iteration", ctx.iteration)


_BUILTINS: dict[str, Reader] = {"vu": _read_vu, "iteration": _read_iteration}
"""Names every virtual user has; a variable of the same name takes precedence."""


def is_variable_path(text: str) -> bool:
    return _VARIABLE.fullmatch(text) is not None


def _lookup(path: str) -> Reader:
    """A reader giving the value at ``path`` or MISSING (a variable may be named "auth.accessToken" outright)."""
    match = _VARIABLE.fullmatch(path)
    if match is None:
        raise ValueError(f"not a variable name: {path!r}")
    head = match.group("head")
    builtin = _BUILTINS.get(head)
    if not match.group("rest"):
        if builtin is not None:
            return builtin
        return lambda ctx: ctx.variables.get(head, MISSING)
    steps = parse_path(match.group("rest").lstrip("."))

    def lookup_path(ctx: RenderContext) -> Any:
        value = ctx.variables.get(path, MISSING)
        if value is MISSING:
            root = ctx.variables.get(head, MISSING)
            if root is MISSING and builtin is not None:
                root = builtin(ctx)
            value = read_steps(root, steps)
        return value

    return lookup_path


def variable_reader(path: str, default: str | None = None) -> Reader:
    """Read ``path`` from ``ctx.variables`` (then ``vu``/``iteration``).

    An unset name reads as ``default`` when one is given (``${token:-anonymous}``; an empty
    value takes it too, as in POSIX shells); otherwise as "" and is noted in ``ctx.missing``.
    """
    lookup = _lookup(path)
    if path in _BUILTINS and default is None:
        return lookup  # always set
    if default is not None:
        def read_or_default(ctx: RenderContext) -> Any:
            value = lookup(ctx)
            return default if value is MISSING or value == "" or value is None else value

        return read_or_default

    def read(ctx: RenderContext) -> Any:
        value = lookup(ctx)
        if value is MISSING:
            ctx.missing.add(path)
            return ""
        return value

    return read


def _literal_arguments(text: str, template: str) -> tuple[str | int | float, ...]:
    if not text.strip():
        return ()
    try:
        values = ast.literal_eval(f"({text},)")
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise TemplateError(f"arguments must be string or number literals: ({text}) in {template!r}") from None
    if not isinstance(values, tuple) or not all(isinstance(v, str | int | float) and not isinstance(v, bool)
                                                for v in values):
        raise TemplateError(f"arguments must be string or number literals: ({text}) in {template!r}")
    return values


def _arity(name: str, args: tuple[Any, ...], count: int, template: str) -> None:
    if len(args) != count:
        raise TemplateError(f"${name}() takes {count} argument{'s' if count != 1 else ''}, "
                            f"got {len(args)} in {template!r}")


def _ints(name: str, args: tuple[Any, ...], template: str) -> tuple[int, ...]:
    if not all(isinstance(arg, int) for arg in args):
        raise TemplateError(f"${name}() takes whole numbers, got ({', '.join(map(repr, args))}) in {template!r}")
    return tuple(int(arg) for arg in args)


_FLOAT_SPAN = 1 << 53
"""The widest range ``int(random() * span)`` draws from without gaps."""
_UUID_VERSION_MASK = ~(0xF000 << 64)
_UUID_VARIANT_MASK = ~(0xC000 << 48)
_UUID_VERSION_4 = 0x4000 << 64
_UUID_VARIANT_RFC = 0x8000 << 48


def uuid4_text(bits: int) -> str:
    """A version 4 UUID from 128 random bits, formatted as ``uuid.UUID(int=bits, version=4)`` does, faster."""
    value = (bits & _UUID_VERSION_MASK & _UUID_VARIANT_MASK) | _UUID_VERSION_4 | _UUID_VARIANT_RFC
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _random_uuid(args: tuple[Any, ...], template: str) -> Reader:
    _arity("randomUUID", args, 0, template)
    return lambda ctx: uuid4_text(ctx.rng.getrandbits(128))


def _random_int(args: tuple[Any, ...], template: str) -> Reader:
    _arity("randomInt", args, 2, template)
    low, high = _ints("randomInt", args, template)
    if high < low:
        raise TemplateError(f"$randomInt({low}, {high}): the second bound is below the first in {template!r}")
    span = high - low + 1
    if span > _FLOAT_SPAN:  # past 2**53 a float cannot spread evenly over the range
        return lambda ctx: ctx.rng.randint(low, high)
    return lambda ctx: low + int(ctx.rng.random() * span)  # randint's bookkeeping costs ~5x this


def _timestamp(args: tuple[Any, ...], template: str) -> Reader:
    _arity("timestamp", args, 0, template)
    return lambda ctx: time.time_ns() // 1_000_000


def _random_string(args: tuple[Any, ...], template: str) -> Reader:
    _arity("randomString", args, 1, template)
    (length,) = _ints("randomString", args, template)
    if not 0 <= length <= 1_048_576:
        raise TemplateError(f"$randomString({length}): length must be 0..1048576 in {template!r}")
    return lambda ctx: "".join(ctx.rng.choices(_ALPHANUMERIC, k=length))


def _random_item(args: tuple[Any, ...], template: str) -> Reader:
    if not args:
        raise TemplateError(f"$randomItem() needs at least one item in {template!r}")
    items = tuple(args)
    return lambda ctx: ctx.rng.choice(items)


FUNCTIONS: Mapping[str, Callable[[tuple[Any, ...], str], Reader]] = {
    "randomUUID": _random_uuid,
    "randomInt": _random_int,
    "timestamp": _timestamp,
    "randomString": _random_string,
    "randomItem": _random_item,
}


class Constant:
    """An expression whose value is known at compile time (an environment value)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value


def _missing_env(name: str) -> Reader:
    key = f"$env.{name}"

    def read(ctx: RenderContext) -> str:
        ctx.missing.add(key)
        return ""

    return read


def compile_expression(expression: str, template: str) -> Reader | Constant:
    """The reader for one ``{{ expression }}``; TemplateError names ``template`` when it is not one."""
    text = expression.strip()
    env = _ENV.fullmatch(text)
    if env is not None:
        value = os.environ.get(env.group("name"))
        return Constant(value) if value is not None else _missing_env(env.group("name"))
    call = _CALL.fullmatch(text)
    if call is not None:
        factory = FUNCTIONS.get(call.group("name"))
        if factory is None:
            raise TemplateError(f"unknown function ${call.group('name')}() in {template!r}; "
                                f"known: {', '.join('$' + name + '()' for name in FUNCTIONS)}")
        return factory(_literal_arguments(call.group("args"), template), template)
    if is_variable_path(text):
        try:
            return variable_reader(text)
        except ValueError:
            pass
    raise TemplateError(f"malformed expression {{{{ {text} }}}} in {template!r}; expected a variable name, "
                        "$env.NAME or a function such as $randomInt(1, 10)")
