"""The target's GraphQL schema over the users/posts store (seed 004's GetUsers and CreatePost).

In SDL terms::

    type Query {
      users(pagination: PaginationInput): UserConnection!
      user(id: ID!): User
      posts(pagination: PaginationInput): PostConnection!
      post(id: ID!): Post
    }
    type Mutation {
      createUser(input: CreateUserInput!): User!
      updateUser(id: ID!, input: UpdateUserInput!): User
      deleteUser(id: ID!): Boolean!
      createPost(input: CreatePostInput!): Post!
      updatePost(id: ID!, input: UpdatePostInput!): Post
      deletePost(id: ID!): Boolean!
    }
    type Subscription {            # over WebSocket only (graphql-transport-ws, see graphql_ws.py)
      postCreated: Post!           # every post created through GraphQL or REST
      tick(intervalMs: Int = 1000, count: Int = 10): Tick!   # intervalMs >= 1, count 1..100000
    }
    type User { id: ID!  name: String!  email: String!  username: String  createdAt: String!
                updatedAt: String!  posts(first: Int = 10): [Post!]! }
    type Post { id: ID!  title: String!  body: String!  authorId: ID  author: User
                createdAt: String!  updatedAt: String! }
    type UserConnection { edges: [UserEdge!]!  nodes: [User!]!  pageInfo: PageInfo!  totalCount: Int! }
    type UserEdge { node: User!  cursor: String! }          # PostConnection / PostEdge alike
    type PageInfo { hasNextPage: Boolean!  hasPreviousPage: Boolean!  startCursor: String  endCursor: String }
    type Tick { seq: Int!  timestamp: String!  epochMs: Float! }
    input PaginationInput { first: Int  after: String  offset: Int }   # first 0..100, default 10
    input CreateUserInput { name: String!  email: String!  username: String }
    input UpdateUserInput { name: String  email: String  username: String }
    input CreatePostInput { title: String!  body: String  authorId: ID }
    input UpdatePostInput { title: String  body: String  authorId: ID }
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from .datastore import Collection, DataStore, ValidationFailed, parse_id
from .graphql_exec import FieldDef, FieldError, Schema

__all__ = ["MAX_FIRST", "SCHEMA", "decode_cursor", "encode_cursor"]

MAX_FIRST = 100
DEFAULT_FIRST = 10


def encode_cursor(position: int) -> str:
    return base64.b64encode(f"offset:{position}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    prefix, _, number = text.partition(":")
    if prefix != "offset" or not number.isdigit():
        raise FieldError(f"Invalid cursor: {cursor!r}", {"code": "BAD_USER_INPUT"})
    return int(number)


def _connection(collection: Collection, pagination: dict[str, Any] | None) -> dict[str, Any]:
    options = pagination or {}
    first = options.get("first")
    first = DEFAULT_FIRST if first is None else first
    if not 0 <= first <= MAX_FIRST:
        raise FieldError(f"pagination.first must be from 0 to {MAX_FIRST}", {"code": "BAD_USER_INPUT"})
    if options.get("after") is not None:
        offset = decode_cursor(options["after"]) + 1
    else:
        offset = options.get("offset") or 0
        if offset < 0:
            raise FieldError("pagination.offset must not be negative", {"code": "BAD_USER_INPUT"})
    ids = collection.page(offset, first)
    nodes = [collection.get(record_id) for record_id in ids]
    edges = [{"node": node, "cursor": encode_cursor(offset + i)} for i, node in enumerate(nodes)]
    total = len(collection)
    return {
        "edges": edges,
        "nodes": nodes,
        "totalCount": total,
        "pageInfo": {
            "hasNextPage": offset + len(ids) < total,
            "hasPreviousPage": offset > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _record_id(raw: Any) -> int | None:
    return parse_id(raw)


def _invalid(exc: ValidationFailed) -> FieldError:
    fields = [{"field": e.field, "message": e.message} for e in exc.errors]
    return FieldError(f"Invalid input: {exc}", {"code": "BAD_USER_INPUT", "fields": fields})


def _create(collection: Collection, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return collection.create(data, int(time.time()))
    except ValidationFailed as exc:
        raise _invalid(exc) from None


def _update(collection: Collection, raw_id: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    record_id = _record_id(raw_id)
    if record_id is None:
        return None
    try:
        return collection.update(record_id, data, int(time.time()))
    except ValidationFailed as exc:
        raise _invalid(exc) from None


def _delete(collection: Collection, raw_id: Any) -> bool:
    record_id = _record_id(raw_id)
    return record_id is not None and collection.delete(record_id)


def _get(collection: Collection, raw_id: Any) -> dict[str, Any] | None:
    record_id = _record_id(raw_id)
    return collection.get(record_id) if record_id is not None else None


def _user_posts(user: dict[str, Any], args: dict[str, Any], store: DataStore) -> list[dict[str, Any]]:
    first = args["first"]
    if not 0 <= first <= MAX_FIRST:
        raise FieldError(f"first must be from 0 to {MAX_FIRST}", {"code": "BAD_USER_INPUT"})
    found: list[dict[str, Any]] = []
    for post in store.posts:
        if len(found) >= first:
            break
        if post.get("authorId") == user["id"]:
            found.append(post)
    return found


def _author(post: dict[str, Any], args: dict[str, Any], store: DataStore) -> dict[str, Any] | None:
    author = post.get("authorId")
    return store.users.get(author) if isinstance(author, int) else None


_PAGINATION = {"pagination": "PaginationInput"}
_ID = {"id": "ID!"}

_QUERY = {
    "users": FieldDef("UserConnection!", lambda _p, a, s: _connection(s.users, a.get("pagination")), _PAGINATION),
    "user": FieldDef("User", lambda _p, a, s: _get(s.users, a["id"]), _ID),
    "posts": FieldDef("PostConnection!", lambda _p, a, s: _connection(s.posts, a.get("pagination")), _PAGINATION),
    "post": FieldDef("Post", lambda _p, a, s: _get(s.posts, a["id"]), _ID),
}
_MUTATION = {
    "createUser": FieldDef("User!", lambda _p, a, s: _create(s.users, a["input"]), {"input": "CreateUserInput!"}),
    "updateUser": FieldDef("User", lambda _p, a, s: _update(s.users, a["id"], a["input"]),
                           {"id": "ID!", "input": "UpdateUserInput!"}),
    "deleteUser": FieldDef("Boolean!", lambda _p, a, s: _delete(s.users, a["id"]), _ID),
    "createPost": FieldDef("Post!", lambda _p, a, s: _create(s.posts, a["input"]), {"input": "CreatePostInput!"}),
    "updatePost": FieldDef("Post", lambda _p, a, s: _update(s.posts, a["id"], a["input"]),
                           {"id": "ID!", "input": "UpdatePostInput!"}),
    "deletePost": FieldDef("Boolean!", lambda _p, a, s: _delete(s.posts, a["id"]), _ID),
}
# Subscription fields read the event from the root value; graphql_ws.py opens the source streams.
_SUBSCRIPTION = {
    "postCreated": FieldDef("Post!"),
    "tick": FieldDef("Tick!", None, {"intervalMs": "Int", "count": "Int"}, {"intervalMs": 1000, "count": 10}),
}


def _plain(*names_types: tuple[str, str]) -> dict[str, FieldDef]:
    return {name: FieldDef(type_text) for name, type_text in names_types}


def _connection_types(node: str) -> dict[str, dict[str, FieldDef]]:
    return {
        f"{node}Connection": _plain(("edges", f"[{node}Edge!]!"), ("nodes", f"[{node}!]!"),
                                    ("pageInfo", "PageInfo!"), ("totalCount", "Int!")),
        f"{node}Edge": _plain(("node", f"{node}!"), ("cursor", "String!")),
    }


SCHEMA = Schema(
    types={
        "Query": _QUERY,
        "Mutation": _MUTATION,
        "Subscription": _SUBSCRIPTION,
        "User": {
            **_plain(("id", "ID!"), ("name", "String!"), ("email", "String!"), ("username", "String"),
                     ("createdAt", "String!"), ("updatedAt", "String!")),
            "posts": FieldDef("[Post!]!", _user_posts, {"first": "Int"}, {"first": DEFAULT_FIRST}),
        },
        "Post": {
            **_plain(("id", "ID!"), ("title", "String!"), ("body", "String!"), ("authorId", "ID"),
                     ("createdAt", "String!"), ("updatedAt", "String!")),
            "author": FieldDef("User", _author),
        },
        **_connection_types("User"),
        **_connection_types("Post"),
        "PageInfo": _plain(("hasNextPage", "Boolean!"), ("hasPreviousPage", "Boolean!"),
                           ("startCursor", "String"), ("endCursor", "String")),
        "Tick": _plain(("seq", "Int!"), ("timestamp", "String!"), ("epochMs", "Float!")),
    },
    inputs={
        "PaginationInput": {"first": "Int", "after": "String", "offset": "Int"},
        "CreateUserInput": {"name": "String!", "email": "String!", "username": "String"},
        "UpdateUserInput": {"name": "String", "email": "String", "username": "String"},
        "CreatePostInput": {"title": "String!", "body": "String", "authorId": "ID"},
        "UpdatePostInput": {"title": "String", "body": "String", "authorId": "ID"},
    },
    roots={"query": "Query", "mutation": "Mutation", "subscription": "Subscription"},
)
