"""Response checks and captures, compiled once per step and evaluated per response.

A failed check is a failed message with a low-cardinality kind (``check failed: status``,
``check failed: jsonPath data.id``...), as k6's ``checks`` and Artillery's ``expect``
report them; the kinds name the check as written, never the value received, so they
can be counted. Captures store values into the virtual user's variables for later steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from orjson import loads

from ..protocols.http_types import HttpResponse
from ..scenario.flow import Capture, Check
from ..templating import RenderContext, compile_text, compile_value
from .jsonpath import MISSING, compile_path, single_key

NOT_JSON = "check failed: body is not JSON"
_NOT_JSON = object()

# (status, lower-cased headers, body, parsed body or _NOT_JSON or None when not needed, context) -> failure or None
_Evaluate = Callable[[int, dict[str, str], bytes, Any, RenderContext | None], str | None]


def _same(actual: Any, expected: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` and ``"1"`` is not ``1``; ``1`` equals ``1.0``."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return bool(actual == expected)


def _expected(value: Any) -> Callable[[RenderContext | None], Any]:
    """The comparison value; templates in it (``"${vu}"``) render when a context is given."""
    compiled = compile_value(value)
    if compiled.is_static:
        static = compiled.render_static()
        return lambda ctx: static
    return lambda ctx: compiled.render(ctx) if ctx is not None else value


def _status_check(check: Check) -> _Evaluate:
    status = check.status
    allowed = frozenset(status if isinstance(status, list) else [status])

    def evaluate(status: int, headers: dict[str, str], body: bytes, document: Any,
                 ctx: RenderContext | None) -> str | None:
        return None if status in allowed else "check failed: status"

    return evaluate


def _json_path_check(check: Check) -> _Evaluate:
    path = check.json_path or ""
    read = compile_path(path)
    kind = f"check failed: jsonPath {path}"
    if check.exists is False:
        def absent(status: int, headers: dict[str, str], body: bytes, document: Any,
                   ctx: RenderContext | None) -> str | None:
            if document is _NOT_JSON:
                return NOT_JSON
            return None if read(document) is MISSING else kind

        return absent
    compiled_equals = compile_value(check.equals) if "equals" in check.model_fields_set else None
    if compiled_equals is not None and compiled_equals.is_static:
        wanted = compiled_equals.render_static()
        wanted_is_bool = wanted.__class__ is bool

        def equal_static(status: int, headers: dict[str, str], body: bytes, document: Any,
                         ctx: RenderContext | None) -> str | None:
            if document is _NOT_JSON:
                return NOT_JSON
            actual = read(document)
            return None if actual == wanted and (actual.__class__ is bool) is wanted_is_bool else kind

        return equal_static
    if compiled_equals is not None:
        expected = _expected(check.equals)

        def equal(status: int, headers: dict[str, str], body: bytes, document: Any,
                  ctx: RenderContext | None) -> str | None:
            if document is _NOT_JSON:
                return NOT_JSON
            return None if _same(read(document), expected(ctx)) else kind

        return equal

    key = single_key(path)
    if key is not None:
        def key_present(status: int, headers: dict[str, str], body: bytes, document: Any,
                        ctx: RenderContext | None) -> str | None:
            if document.__class__ is dict:
                return kind if document.get(key, MISSING) is MISSING else None
            if document is _NOT_JSON:
                return NOT_JSON
            return kind if read(document) is MISSING else None

        return key_present

    def present(status: int, headers: dict[str, str], body: bytes, document: Any,
                ctx: RenderContext | None) -> str | None:
        if document is _NOT_JSON:
            return NOT_JSON
        return kind if read(document) is MISSING else None

    return present


def _contains_check(check: Check) -> _Evaluate:
    text = compile_text(check.contains or "")
    needle = (check.contains or "").encode()

    def evaluate(status: int, headers: dict[str, str], body: bytes, document: Any,
                 ctx: RenderContext | None) -> str | None:
        wanted = text.render(ctx).encode() if ctx is not None and not text.is_static else needle
        return None if wanted in body else "check failed: contains"

    return evaluate


def _header_check(check: Check) -> _Evaluate:
    name = (check.header or "").strip().lower()
    kind = f"check failed: header {name}"
    equals = _expected(check.equals) if "equals" in check.model_fields_set else None
    contains = check.contains
    must_exist = check.exists is not False

    def evaluate(status: int, headers: dict[str, str], body: bytes, document: Any,
                 ctx: RenderContext | None) -> str | None:
        value = headers.get(name)
        if value is None:
            return kind if must_exist else None
        if not must_exist:
            return kind
        if equals is not None and value != str(equals(ctx)):
            return kind
        if contains is not None and contains not in value:
            return kind
        return None

    return evaluate


def _compile_check(check: Check) -> _Evaluate:
    if check.status is not None:
        return _status_check(check)
    if check.json_path is not None:
        return _json_path_check(check)
    if check.header is not None:
        return _header_check(check)
    return _contains_check(check)


_Capture = Callable[[dict[str, str], Any], Any]
"""(lower-cased headers, parsed body or _NOT_JSON) -> the captured value or MISSING."""


def _compile_capture(capture: Capture) -> _Capture:
    if capture.json_path is not None:
        read = compile_path(capture.json_path)
        key = single_key(capture.json_path)
        if key is not None:
            return lambda headers, document: document.get(key, MISSING) if document.__class__ is dict \
                else MISSING if document is _NOT_JSON else read(document)
        return lambda headers, document: MISSING if document is _NOT_JSON else read(document)
    name = (capture.header or "").strip().lower()
    return lambda headers, document: headers.get(name, MISSING)


def _document(response: HttpResponse) -> Any:
    try:
        return response.json()
    except (orjson.JSONDecodeError, ValueError, TypeError):
        return _NOT_JSON


def _top_level_keys(checks: list[Check], captures: list[Capture]) -> tuple[
        tuple[tuple[str, str], ...] | None, tuple[tuple[str, str, str], ...]]:
    """When every check asks that a top-level key exist and every capture reads one: (key, failure kind) per
    check and (variable, key, failure kind) per capture, which ``apply`` reads inline; else (None, ())."""
    key_checks: list[tuple[str, str]] = []
    for check in checks:
        key = single_key(check.json_path) if check.json_path is not None else None
        if key is None or check.exists is False or "equals" in check.model_fields_set:
            return None, ()
        key_checks.append((key, f"check failed: jsonPath {check.json_path}"))
    key_captures: list[tuple[str, str, str]] = []
    for capture in captures:
        key = single_key(capture.json_path) if capture.json_path is not None else None
        if key is None:
            return None, ()
        key_captures.append((capture.as_, key, f"capture failed: {capture.as_}"))
    return tuple(key_checks), tuple(key_captures)


class CompiledChecks:
    """A step's checks and captures; ``evaluate`` returns (first failure kind or None, captured values)."""

    __slots__ = ("_captures", "_checks", "_key_captures", "_key_checks", "_needs_json", "captures", "checks",
                 "needs_body")

    def __init__(self, checks: list[Check], captures: list[Capture]) -> None:
        self.checks = list(checks)
        self.captures = list(captures)
        self._checks = tuple(_compile_check(check) for check in checks)
        self._captures = tuple((capture.as_, f"capture failed: {capture.as_}", _compile_capture(capture))
                               for capture in captures)
        self._needs_json = any(check.json_path is not None for check in checks) \
            or any(capture.json_path is not None for capture in captures)
        self.needs_body: bool = self._needs_json or any(
            check.status is None and check.json_path is None and check.header is None for check in checks)
        self._key_checks, self._key_captures = _top_level_keys(checks, captures)

    @property
    def empty(self) -> bool:
        return not self._checks and not self._captures

    def evaluate(self, response: HttpResponse, ctx: RenderContext | None = None) -> tuple[str | None, dict[str, Any]]:
        """Run the checks in order (stopping at the first failure), then every capture.

        ``ctx`` renders templates in ``equals``/``contains`` (``"${vu}"``); without it they compare as written.
        The body is parsed through ``response.json()``, so a caller that read it already does not parse it twice.
        """
        document = _document(response) if self._needs_json else None
        status, headers, body = response.status, response.headers, response.body
        failure: str | None = None
        for check in self._checks:
            failure = check(status, headers, body, document, ctx)
            if failure is not None:
                break
        captured: dict[str, Any] = {}
        for name, kind, capture in self._captures:
            value = capture(headers, document)
            if value is MISSING:
                if failure is None:
                    failure = NOT_JSON if document is _NOT_JSON else kind
            else:
                captured[name] = value
        return failure, captured

    def apply(self, status: int, headers: dict[str, str], body: bytes, ctx: RenderContext) -> str | None:
        """``evaluate`` for the hot path: no response object, and captures stored straight into ``ctx.variables``.

        The body is parsed once, for every check and capture that reads it.
        """
        document = None
        if self._needs_json:
            try:
                document = loads(body)
            except (orjson.JSONDecodeError, ValueError, TypeError):
                document = _NOT_JSON
            key_checks = self._key_checks
            if key_checks is not None and document.__class__ is dict:  # the common shape, read without closures
                failure = None
                for key, kind in key_checks:
                    if key not in document:
                        failure = kind
                        break
                variables = ctx.variables
                for name, key, kind in self._key_captures:
                    value = document.get(key, MISSING)
                    if value is MISSING:
                        if failure is None:
                            failure = kind
                    else:
                        variables[name] = value
                return failure
        for check in self._checks:
            failure = check(status, headers, body, document, ctx)
            if failure is not None:
                break
        else:
            failure = None
        if self._captures:
            variables = ctx.variables
            for name, kind, capture in self._captures:
                value = capture(headers, document)
                if value is MISSING:
                    if failure is None:
                        failure = NOT_JSON if document is _NOT_JSON else kind
                else:
                    variables[name] = value
        return failure
