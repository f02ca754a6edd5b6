"""HTTP flow steps compiled once into small operations the virtual users run per request.

A request's templates are compiled and its static parts encoded here, so sending costs only what
changes: nothing for a static request (its bytes are cached per set of credentials), the rendered
target for a request whose only template is its URL (the rest of its bytes cached likewise), and a
full build otherwise. GraphQL, JSON-RPC and MCP steps wrap the RPC helper's call.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .._version import __version__
from ..protocols.http_client import Origin, split_url
from ..protocols.http_codec import BODY, BODY_METHODS, FULL, LEAN, header_lines, safe_target
from ..protocols.http_types import HttpResponse
from ..scenario.flow import GraphQLStep, LoopStep, McpStep, RequestSpec, RequestStep, RpcStep, ThinkStep
from ..scenario.interpolate import declared_names
from ..scenario.model import Scenario
from ..templating import CompiledText, RenderContext, TemplateError, compile_json_body, compile_text
from ..templating.expressions import Reader
from .checks import CompiledChecks
from .http_auth import AuthState
from .websocket import UnsupportedStep

if TYPE_CHECKING:
    from .http import VirtualUser
    from .rpc_steps import RpcCall

__all__ = ["NO_HEADERS", "REQUEST", "SUBSCRIBE", "THINK", "USER_AGENT", "LoopOp", "Op", "RequestOp", "RpcOp",
           "ThinkOp", "check_flow", "compile_flow", "declared", "flatten", "has_requests", "http_endpoint",
           "status_kind", "walk"]

FLATTEN_LIMIT = 10_000
USER_AGENT = f"streamtestbench/{__version__}"
NO_HEADERS: dict[str, str] = {}
"""The headers of a response read without them (shared, never written)."""
_BLANK = RenderContext(vu=0, iteration=0, rng=random.Random(0))


def http_endpoint(endpoint: str) -> str:
    """``127.0.0.1:8000`` -> ``http://127.0.0.1:8000``; ws(s):// (GraphQL over WebSocket) -> http(s)://."""
    if "://" not in endpoint:
        return f"http://{endpoint}"
    scheme, rest = endpoint.split("://", 1)
    return f"{ {'ws': 'http', 'wss': 'https'}.get(scheme.lower(), scheme.lower())}://{rest}"


def status_kind(status: int) -> str | None:
    return None if status < 400 else "HTTP 4xx" if status < 500 else "HTTP 5xx"


REQUEST, THINK, SUBSCRIBE = 0, 1, 2
"""Op kinds, so the hot loop dispatches on an int rather than on classes."""


_FORMAT_KEYS = -(1 << 32)
"""``auth.cache`` keys: a step's index for its static bytes, ``-1 - index`` for a target-only step's
bytes after the target, ``_FORMAT_KEYS - index`` for its %-format."""


def _int_target(target: CompiledText) -> tuple[str, tuple[Reader, ...]] | None:
    """``target`` as a %-format (literals escaped, one ``%d`` per expression) when its literal text needs
    no escaping in a request line, else None; ints then fill it as they are."""
    literals = [part for part in target.parts if isinstance(part, str)]
    if any(safe_target(text) != text or "%" in text for text in literals):
        return None
    readers = tuple(part for part in target.parts if not isinstance(part, str))
    return "".join(part if isinstance(part, str) else "%d" for part in target.parts), readers


class RequestOp:
    """One ``request`` step: its templates compiled, its static parts encoded."""

    kind = REQUEST

    def __init__(self, spec: RequestSpec, base: Origin, index: int, declared: frozenset[str]) -> None:
        self.index = index
        self.method = spec.method
        url = spec.url
        if "://" in url:
            scheme_host, _, rest = url.partition("://")[2].partition("/")
            if "${" in scheme_host or "{{" in scheme_host:
                raise UnsupportedStep(f"request url {url!r}: templates may not change the host")
            origin, _ = split_url(url)
            self.origin = base if origin == base else origin
            target_text = "/" + rest
        else:
            self.origin = base
            target_text = url if url.startswith("/") else "/" + url
        self.name = f"http.{self.method} {target_text.split('?', 1)[0]}"
        self.target = compile_text(target_text, declared=declared)
        self.static_target = self.target.render(_BLANK) if self.target.is_static else ""
        self.render_target = self.target.renderer()
        self.head = self.method == "HEAD"
        self.timeout_ns = spec.timeout_ms * 1_000_000
        self.follow = spec.follow_redirects
        fixed: dict[str, str] = {"Host": self.origin.host_header, "User-Agent": USER_AGENT,
                                 "Connection": "keep-alive"}
        self.body_text: CompiledText | None = None
        self.form: list[tuple[str, CompiledText]] | None = None
        self.json_body = compile_json_body(spec.json_body, declared=declared) if spec.json_body is not None else None
        if self.json_body is not None:
            fixed["Content-Type"] = "application/json"
        elif spec.form is not None:
            self.form = [(k, compile_text(v, declared=declared)) for k, v in spec.form.items()]
            fixed["Content-Type"] = "application/x-www-form-urlencoded"
        elif spec.body is not None:
            self.body_text = compile_text(spec.body, declared=declared)
            fixed["Content-Type"] = "text/plain; charset=utf-8"
        dynamic: list[tuple[str, CompiledText]] = []
        for name, value in spec.headers.items():
            for known in [k for k in fixed if k.lower() == name.lower()]:
                del fixed[known]
            compiled = compile_text(value, declared=declared)
            if compiled.is_static:
                fixed[name] = compiled.render(_BLANK)
            else:
                dynamic.append((name, compiled))
        self.dynamic_headers = tuple(dynamic)
        self.fixed_headers = header_lines(fixed.items())
        self.line_start = f"{self.method} ".encode()
        self.static = self.target.is_static and not dynamic and self._body_static()
        self.target_only = not self.target.is_static and not dynamic and self._body_static()
        """Only the target is templated: the rest of the request is encoded once per set of credentials."""
        self.suffix_key = -1 - index
        """Where ``auth.cache`` keeps a target-only request's bytes after its target."""
        self.int_target = _int_target(self.target) if self.target_only else None
        """The target as a %-format whose every placeholder an int fills, and its readers; or None."""
        self.format_key = _FORMAT_KEYS - index
        """Where ``auth.cache`` keeps a target-only request as one bytes %-format (``int_target``)."""
        # Encoded once: the request line and fixed headers (when the target is static), each templated
        # header's "Name: " and the end of the request (when the body is static).
        self.head_bytes = self.line_start + safe_target(self.static_target).encode() + b" HTTP/1.1\r\n" \
            + self.fixed_headers if self.target.is_static else b""
        self.dynamic_lines = tuple((f"{name}: ".encode(), value) for name, value in dynamic)
        self.tail = self._tail(self.body(_BLANK)) if self._body_static() else None
        self.checks = CompiledChecks(spec.check, spec.capture) if spec.check or spec.capture else None
        self.status_checked = any(check.status is not None for check in spec.check)
        self.accepted: frozenset[int] | None = None
        """The statuses allowed when the step checks nothing but the status (judged without CompiledChecks)."""
        if spec.check and not spec.capture and all(check.status is not None for check in spec.check):
            sets = [frozenset(c.status if isinstance(c.status, list) else [c.status or 0]) for c in spec.check]
            self.accepted = frozenset.intersection(*sets)
        reads_headers = any(c.header is not None for c in spec.check) or any(c.header is not None for c in spec.capture)
        self.mode = FULL if self.follow or reads_headers else \
            BODY if self.checks is not None and self.checks.needs_body else LEAN
        """How much of the response to parse: nothing the step does not read."""
        self.apply_checks = self.checks.apply if self.checks is not None and self.accepted is None else None
        """Checks and captures that read the body (captures go straight into the variables), else None."""
        self.quick = not self.follow and self.mode != FULL
        """Judged from the status and body alone: the virtual user's callback-only hot path can run it."""

    def _body_static(self) -> bool:
        if self.json_body is not None:
            return self.json_body.is_static
        if self.form is not None:
            return all(value.is_static for _, value in self.form)
        return self.body_text is None or self.body_text.is_static

    def body(self, ctx: RenderContext) -> bytes | None:
        if self.json_body is not None:
            return self.json_body.render_bytes(ctx)
        if self.form is not None:
            return urlencode([(name, value.render(ctx)) for name, value in self.form]).encode()
        if self.body_text is not None:
            return self.body_text.render(ctx).encode()
        return None

    def _tail(self, body: bytes | None) -> bytes:
        """The end of the request: its length (when it has or may have a body), the blank line, the body."""
        if body is None:
            return b"Content-Length: 0\r\n\r\n" if self.method in BODY_METHODS else b"\r\n"
        return b"Content-Length: %d\r\n\r\n%b" % (len(body), body)

    def build(self, ctx: RenderContext, auth: AuthState) -> bytes:
        """The request's bytes; ValueError when a rendered header value would split the request."""
        if self.int_target is not None and not auth.query:
            data = self._build_from_ints(ctx, auth, self.int_target[1])
            if data is not None:
                return data
        if self.target_only and not auth.query:
            suffix = auth.cache.get(self.suffix_key)
            if suffix is None:
                assert self.tail is not None
                suffix = auth.cache[self.suffix_key] = b"".join((b" HTTP/1.1\r\n", self.fixed_headers, auth.block,
                                                                 self.tail))
            target = self.render_target(ctx)
            if not (target.isascii() and target.isprintable()) or " " in target or "%" in target:
                target = safe_target(target)  # the usual target needs no escaping: decided without a call
            return b"".join((self.line_start, target.encode(), suffix))
        head = self.head_bytes
        if not head or auth.query:
            target = self.static_target if self.target.is_static else self.target.render(ctx)
            if auth.query:
                target = f"{target}{'&' if '?' in target else '?'}{auth.query}"
            head = b"".join((self.line_start, safe_target(target).encode(), b" HTTP/1.1\r\n", self.fixed_headers))
        parts = [head, auth.block]
        for name, value in self.dynamic_lines:
            text = value.render(ctx)
            if "\r" in text or "\n" in text or "\x00" in text:
                raise ValueError(f"header {name.decode().rstrip(': ')} rendered a line break")
            parts.append(name + text.encode() + b"\r\n")
        parts.append(self.tail or self._tail(self.body(ctx)))
        return b"".join(parts)

    def _build_from_ints(self, ctx: RenderContext, auth: AuthState, readers: tuple[Reader, ...]) -> bytes | None:
        """The whole request from one bytes %-format when every value read is an int (``${vu}``,
        ``$randomInt``, a captured id): digits need no escaping, so nothing is checked, joined or
        encoded per request. None when a value is something else (the general path renders it)."""
        count = len(readers)
        if count == 1:
            values: tuple[Any, ...] = (readers[0](ctx),)
        elif count == 2:
            values = (readers[0](ctx), readers[1](ctx))
        else:
            values = tuple([read(ctx) for read in readers])
        for value in values:
            if value.__class__ is not int:
                return None
        request = auth.cache.get(self.format_key)
        if request is None:
            assert self.int_target is not None and self.tail is not None
            rest = b"".join((b" HTTP/1.1\r\n", self.fixed_headers, auth.block, self.tail)).replace(b"%", b"%%")
            request = auth.cache[self.format_key] = self.line_start + self.int_target[0].encode() + rest
        return request % values

    def encode(self, vu: VirtualUser) -> bytes | None:
        auth = vu.auth
        if self.static:
            data = auth.cache.get(self.index)
            if data is None:
                data = auth.cache[self.index] = self.build(vu.ctx, auth)
            return data
        return self.build(vu.ctx, auth)

    def status_error(self, status: int) -> str | None:
        """The error for ``status`` when the step checks nothing but the status (or nothing at all)."""
        accepted = self.accepted
        if accepted is None:
            return status_kind(status)
        return None if status in accepted else "check failed: status"

    def judge(self, vu: VirtualUser, status: int, headers: dict[str, str] | None,
              body: bytes | None) -> tuple[str | None, dict[str, Any] | None]:
        checks = self.checks
        if checks is None or (status >= 400 and not self.status_checked):
            return status_kind(status), None
        return checks.evaluate(HttpResponse(status, headers or {}, body or b""), vu.ctx)


class RpcOp:
    """A graphql, rpc or mcp step: the RPC helper's call, posted by this behaviour."""

    follow = False
    static = False
    checks = True
    """Always judged by the call (JSON-RPC errors hide behind HTTP 200)."""

    def __init__(self, call: RpcCall, base: Origin, index: int) -> None:
        self.index = index
        self.call = call
        self.name: str = call.name
        self.subscription: bool = bool(getattr(call, "is_subscription", False))
        self.kind = SUBSCRIBE if self.subscription else REQUEST
        self.key = (type(call), call.url)
        """Calls of one kind to one URL share a session (one MCP initialize per virtual user)."""
        self.origin, target = split_url(http_endpoint(call.url), base) if not self.subscription else (base, "/")
        if self.origin == base:
            self.origin = base
        self.head = False
        self.mode = FULL
        self.timeout_ns = 30_000_000_000
        self.prefix = f"POST {safe_target(target)} HTTP/1.1\r\n".encode() + header_lines(
            (("Host", self.origin.host_header), ("User-Agent", USER_AGENT), ("Connection", "keep-alive")))
        self._last: tuple[dict[str, str] | None, bytes] = (None, b"")

    def encode(self, vu: VirtualUser) -> bytes | None:
        extra = vu.session.prepared.get(self.key)
        if extra is None:
            return None  # the session must be prepared first (MCP initialize)
        body, headers = vu.context.run(self.call.build, vu.ctx)
        last_headers, block = self._last
        if headers is not last_headers:  # build returns the same dict each time: encode it once
            block = header_lines(headers.items())
            self._last = (headers, block)
        return b"".join((self.prefix, vu.auth.block, block, extra[1], b"Content-Length: %d\r\n\r\n" % len(body),
                         body))

    def judge(self, vu: VirtualUser, status: int, headers: dict[str, str] | None,
              body: bytes | None) -> tuple[str | None, dict[str, Any] | None]:
        response = HttpResponse(status, headers or {}, body or b"")
        error, captured = vu.context.run(self.call.judge, response, vu.ctx)
        return error, captured


class ThinkOp:
    kind = THINK

    def __init__(self, low: float, high: float) -> None:
        self.low = low
        self.high = high


class LoopOp:
    kind = -1

    def __init__(self, count: int, ops: tuple[Any, ...]) -> None:
        self.count = count
        self.ops = ops


Op = RequestOp | RpcOp | ThinkOp | LoopOp


def compile_flow(steps: Sequence[Any], endpoint: str, declared: frozenset[str] = frozenset(),
                 counter: list[int] | None = None, base: Origin | None = None) -> tuple[Op, ...]:
    """The flow as small operations; UnsupportedStep for a step HTTP cannot run or a bad template.

    Every step aimed at the endpoint's origin shares ``base`` itself, so the hot path compares origins by identity.
    """
    base = base or split_url(http_endpoint(endpoint))[0]
    counter = counter if counter is not None else [0]
    ops: list[Op] = []
    for number, step in enumerate(steps, 1):
        counter[0] += 1
        try:
            if isinstance(step, RequestStep):
                ops.append(RequestOp(step.request, base, counter[0], declared))
            elif isinstance(step, GraphQLStep | RpcStep | McpStep):
                from .rpc_steps import compile_rpc_step

                ops.append(RpcOp(compile_rpc_step(step, http_endpoint(endpoint)), base, counter[0]))
            elif isinstance(step, ThinkStep):
                think = step.think
                low = think.seconds if think.seconds is not None else (think.min or 0.0)
                high = think.seconds if think.seconds is not None else (think.max or 0.0)
                ops.append(ThinkOp(low, high))
            elif isinstance(step, LoopStep):
                ops.append(LoopOp(step.loop.count, compile_flow(step.loop.steps, endpoint, declared, counter, base)))
            else:
                raise UnsupportedStep(f"step {number}: {type(step).__name__} is not an HTTP step "
                                      "(use request/get/post..., graphql, rpc, mcp, think, loop)")
        except (TemplateError, ValueError) as error:
            if isinstance(error, UnsupportedStep):
                raise
            raise UnsupportedStep(f"step {number}: {error}") from None
    return tuple(ops)


def check_flow(scenario: Scenario) -> None:
    """Raise UnsupportedStep before the run for a step or template this behaviour cannot run."""
    compile_flow(scenario.flow, scenario.endpoint or "127.0.0.1", declared(scenario))


def declared(scenario: Scenario) -> frozenset[str]:
    """The names filled at run time (variables, captures, data fields): only these are templates."""
    return declared_names(scenario.to_data())


def flatten(ops: tuple[Op, ...]) -> tuple[Op, ...] | None:
    """One pass as a flat tuple, or None when its loops unroll to more than FLATTEN_LIMIT steps."""
    flat: list[Op] = []

    def unroll(items: tuple[Op, ...]) -> bool:
        for op in items:
            if isinstance(op, LoopOp):
                for _ in range(op.count):
                    if not unroll(op.ops) or len(flat) > FLATTEN_LIMIT:
                        return False
            else:
                flat.append(op)
        return True

    return tuple(flat) if unroll(ops) else None


def walk(ops: tuple[Op, ...]) -> Iterator[Op]:
    """One pass step by step, for flows too long to flatten."""
    for op in ops:
        if isinstance(op, LoopOp):
            for _ in range(op.count):
                yield from walk(op.ops)
        else:
            yield op


def has_requests(ops: tuple[Op, ...]) -> bool:
    return any(has_requests(op.ops) if isinstance(op, LoopOp) else isinstance(op, RequestOp | RpcOp) for op in ops)
