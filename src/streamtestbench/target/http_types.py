"""HTTP request and response values and the response's wire encoding. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

import orjson

__all__ = ["Request", "Response", "encode_response", "reason_phrase"]

_REASONS = {status.value: status.phrase for status in HTTPStatus}
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


def reason_phrase(status: int) -> str:
    return _REASONS.get(status, "Unknown")


class Request:
    """One parsed request. Header names are lower-case; repeated headers are joined with ", ".

    Headers stay raw bytes until someone asks for them: most benchmark requests never do.
    """

    __slots__ = ("_headers", "_path", "_query", "_raw_headers", "body", "method", "path_params", "remote", "target")

    def __init__(
        self,
        method: str,
        target: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        remote: str = "",
        *,
        raw_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.method = method
        self.target = target
        self.body = body
        self.remote = remote
        self.path_params: Mapping[str, str] = _NO_PARAMS
        self._headers = headers
        self._raw_headers = raw_headers
        self._path: str | None = None
        self._query: dict[str, list[str]] | None = None

    def __repr__(self) -> str:
        return f"Request({self.method} {self.target})"

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            headers: dict[str, str] = {}
            for raw_name, raw_value in self._raw_headers or ():
                name = raw_name.decode("latin-1").lower()
                value = raw_value.decode("latin-1")
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            self._headers = headers
        return self._headers

    @property
    def path(self) -> str:
        if self._path is None:
            self._path = self.target.split("?", 1)[0]
        return self._path

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            _, _, raw = self.target.partition("?")
            self._query = parse_qs(raw, keep_blank_values=True) if raw else {}
        return self._query

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def bearer_token(self) -> str | None:
        """The token from ``Authorization: Bearer T``, else from ``?token=T``."""
        auth = self.headers.get("authorization")
        if auth:
            scheme, _, token = auth.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        return self.query_value("token")

    def json(self) -> Any:
        """The body as JSON; raises ``ValueError`` when it is not."""
        return orjson.loads(self.body)

    def form_or_json(self) -> dict[str, Any]:
        """A JSON object or an urlencoded form (k6's ``http.post(url, {..})`` sends a form)."""
        content_type = self.headers.get("content-type", "")
        looks_like_json = self.body.lstrip()[:1] in (b"{", b"[")
        if "application/x-www-form-urlencoded" in content_type and not looks_like_json:
            form = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
            return {key: values[0] for key, values in form.items()}
        data = self.json()
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data


@dataclass(slots=True)
class Response:
    """``static`` marks a module-level constant: its wire bytes are encoded once and reused.
    ``chunks`` (instead of ``body``) sends the body with ``Transfer-Encoding: chunked``, one HTTP
    chunk per item (SSE streams, the /chunked test endpoint)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    static: bool = False
    chunks: tuple[bytes, ...] | None = None

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        return cls(status, orjson.dumps(data), "application/json", headers or {})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, text.encode(), content_type)

    @classmethod
    def error(cls, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        return cls.json({"error": message, "status": status}, status, headers)


def encode_response(response: Response, *, keep_alive: bool, head: bool = False) -> bytes:
    """Serialise for HTTP/1.1; ``head`` keeps Content-Length but leaves the body out."""
    chunks = response.chunks
    lines = [f"HTTP/1.1 {response.status} {reason_phrase(response.status)}"]
    if response.status == 204:  # no content: neither a body nor its framing headers (RFC 9110)
        chunks = None
    else:
        lines.append(f"Content-Type: {response.content_type}")
        lines.append("Transfer-Encoding: chunked" if chunks is not None else f"Content-Length: {len(response.body)}")
    if not keep_alive:
        lines.append("Connection: close")
    for name, value in response.headers.items():
        lines.append(f"{name}: {value}")
    head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if head or response.status == 204:
        return head_bytes
    if chunks is not None:
        framed = [b"%x\r\n%b\r\n" % (len(chunk), chunk) for chunk in chunks if chunk]
        return head_bytes + b"".join(framed) + b"0\r\n\r\n"
    return head_bytes + response.body
