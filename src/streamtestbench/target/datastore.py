"""The target's in-memory users and posts (seed 004's dataset): shared by REST, GraphQL and MCP.

Deterministic: user ``i`` and post ``i`` (1..1000) are derived from ``i`` alone, so every run and
every worker starts from the same data. Each record's JSON is encoded once and kept until the
record changes, so ``GET /api/v1/users/1`` costs a dict lookup. Records created at run time beyond
:data:`MAX_CREATED` push out the oldest created ones, which keeps a long POST load test bounded.
No I/O here; with ``--workers N`` each worker has its own copy.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "MAX_CREATED",
    "SEED_COUNT",
    "Collection",
    "DataStore",
    "FieldError",
    "ValidationFailed",
    "parse_id",
]

SEED_COUNT = 1000
MAX_CREATED = 50_000
MAX_TEXT = 10_000
# 2024-01-01T00:00:00Z; seeded record i was "created" i minutes later.
_EPOCH_S = 1_704_067_200


def _iso(epoch_s: int) -> str:
    return datetime.datetime.fromtimestamp(epoch_s, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class ValidationFailed(ValueError):
    """One or more fields of a create/update are missing or wrong; ``errors`` names them."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def parse_id(raw: Any) -> int | None:
    """A record id from a path segment, JSON number or numeric string; None when it is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw > 0 else None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 18:
        value = int(raw)
        return value if value > 0 else None
    return None


def _text(body: Mapping[str, Any], name: str, errors: list[FieldError], *, required: bool) -> str | None:
    if name not in body or body[name] is None:
        if required:
            errors.append(FieldError(name, "is required"))
        return None
    value = body[name]
    if not isinstance(value, str):
        errors.append(FieldError(name, "must be a string"))
        return None
    if required and not value.strip():
        errors.append(FieldError(name, "must not be empty"))
        return None
    if len(value) > MAX_TEXT:
        errors.append(FieldError(name, f"must be at most {MAX_TEXT} characters"))
        return None
    return value


class Collection:
    """Records by id in creation order, with their cached JSON encoding."""

    def __init__(self, kind: str, validate: Callable[[Mapping[str, Any], bool], dict[str, Any]]) -> None:
        self.kind = kind
        self._validate = validate
        self._records: dict[int, dict[str, Any]] = {}
        self._encoded: dict[int, bytes] = {}
        self._next_id = itertools.count(1)
        self._created: dict[int, None] = {}  # run-time creations, oldest first
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def __len__(self) -> int:
        return len(self._records)

    def _insert(self, record: dict[str, Any]) -> dict[str, Any]:
        self._records[record["id"]] = record
        self._encoded.pop(record["id"], None)
        return record

    def seed(self, fields: dict[str, Any]) -> None:
        self._insert({"id": next(self._next_id), **fields})

    def get(self, record_id: int) -> dict[str, Any] | None:
        return self._records.get(record_id)

    def encoded(self, record_id: int) -> bytes | None:
        """The record's JSON bytes, encoded at most once per change."""
        data = self._encoded.get(record_id)
        if data is None:
            record = self._records.get(record_id)
            if record is None:
                return None
            data = self._encoded[record_id] = orjson.dumps(record)
        return data

    def page(self, offset: int, limit: int) -> list[int]:
        """Ids of up to ``limit`` records starting at position ``offset``."""
        return list(itertools.islice(self._records, offset, offset + limit))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._records.values())

    def create(self, body: Mapping[str, Any], now_s: int) -> dict[str, Any]:
        fields = self._validate(body, True)
        record_id = next(self._next_id)
        record = {"id": record_id, **fields, "createdAt": _iso(now_s), "updatedAt": _iso(now_s)}
        self._insert(record)
        self._created[record_id] = None
        while len(self._created) > MAX_CREATED:
            oldest = next(iter(self._created))
            del self._created[oldest]
            self.delete(oldest)
        for listener in list(self.listeners):
            listener(record)
        return record

    def update(self, record_id: int, body: Mapping[str, Any], now_s: int) -> dict[str, Any] | None:
        """Change the fields given (PUT and PATCH alike); None when the record does not exist."""
        record = self._records.get(record_id)
        if record is None:
            return None
        fields = self._validate(body, False)
        updated = {**record, **fields, "updatedAt": _iso(now_s)}
        return self._insert(updated)

    def delete(self, record_id: int) -> bool:
        self._encoded.pop(record_id, None)
        self._created.pop(record_id, None)
        return self._records.pop(record_id, None) is not None


def _validate_user(body: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    errors: list[FieldError] = []
    fields: dict[str, Any] = {}
    name = _text(body, "name", errors, required=creating)
    if name is not None:
        fields["name"] = name
    email = _text(body, "email", errors, required=creating)
    if email is not None:
        if "@" not in email.strip("@"):
            errors.append(FieldError("email", "must be an email address"))
        else:
            fields["email"] = email
    username = _text(body, "username", errors, required=False)
    if username is not None:
        fields["username"] = username
    elif creating and email is not None:
        fields["username"] = email.split("@", 1)[0]
    if errors:
        raise ValidationFailed(errors)
    return fields


class DataStore:
    """Users and posts; ``posts.listeners`` hear about every created post (GraphQL postCreated)."""

    def __init__(self, count: int = SEED_COUNT) -> None:
        self.users = Collection("user", _validate_user)
        self.posts = Collection("post", self._validate_post)
        for i in range(1, count + 1):
            created = _iso(_EPOCH_S + 60 * i)
            self.users.seed({
                "name": f"User {i}",
                "email": f"user{i}@example.test",
                "username": f"user{i}",
                "createdAt": created,
                "updatedAt": created,
            })
        for i in range(1, count + 1):
            created = _iso(_EPOCH_S + 60 * i + 30)
            self.posts.seed({
                "title": f"Post {i}",
                "body": f"Body of post {i}.",
                "authorId": (i - 1) % max(count, 1) + 1,
                "createdAt": created,
                "updatedAt": created,
            })

    def _validate_post(self, body: Mapping[str, Any], creating: bool) -> dict[str, Any]:
        errors: list[FieldError] = []
        fields: dict[str, Any] = {}
        title = _text(body, "title", errors, required=creating)
        if title is not None:
            fields["title"] = title
        text = _text(body, "body", errors, required=False)
        if text is not None:
            fields["body"] = text
        elif creating:
            fields["body"] = ""
        if body.get("authorId") is not None:
            author = parse_id(body["authorId"])
            if author is None:
                errors.append(FieldError("authorId", "must be a positive integer id"))
            elif self.users.get(author) is None:
                errors.append(FieldError("authorId", f"no user with id {author}"))
            else:
                fields["authorId"] = author
        elif creating:
            fields["authorId"] = 1 if self.users.get(1) is not None else None
        if errors:
            raise ValidationFailed(errors)
        return fields
