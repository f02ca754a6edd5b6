"""Validation and execution against the target's schema (and a tiny one for null propagation)."""

from __future__ import annotations

from typing import Any

import pytest

from streamtestbench.target.datastore import DataStore
from streamtestbench.target.graphql_exec import (
    FieldDef,
    FieldError,
    GraphQLRequestError,
    Schema,
    execute,
    prepare,
    subscription_source,
)
from streamtestbench.target.graphql_parse import parse
from streamtestbench.target.graphql_schema import SCHEMA, decode_cursor, encode_cursor

GET_USERS = "query GetUsers($first: Int) { users(pagination: { first: $first }) { edges { node { id name email } } } }"
CREATE_POST = "mutation CreatePost($input: CreatePostInput!) { createPost(input: $input) { id title } }"


def run(query: str, variables: dict[str, Any] | None = None, store: DataStore | None = None,
        operation: str | None = None) -> dict[str, Any]:
    prepared = prepare(SCHEMA, parse(query), operation)
    return execute(SCHEMA, prepared, variables, store or DataStore(count=20))


def errors_of(query: str, variables: dict[str, Any] | None = None, operation: str | None = None) -> list[Any]:
    with pytest.raises(GraphQLRequestError) as info:
        run(query, variables, operation=operation)
    return info.value.errors


def test_seed_004_get_users() -> None:
    result = run(GET_USERS, {"first": 2})
    assert result == {"data": {"users": {"edges": [
        {"node": {"id": "1", "name": "User 1", "email": "user1@example.test"}},
        {"node": {"id": "2", "name": "User 2", "email": "user2@example.test"}},
    ]}}}


def test_seed_004_create_post_lands_in_the_store() -> None:
    store = DataStore(count=5)
    result = run(CREATE_POST, {"input": {"title": "Load test post 1-0", "body": "GraphQL load"}}, store, "CreatePost")
    assert result == {"data": {"createPost": {"id": "6", "title": "Load test post 1-0"}}}
    post = store.posts.get(6)
    assert post is not None and post["body"] == "GraphQL load" and post["authorId"] == 1


def test_connection_paging_with_cursors() -> None:
    store = DataStore(count=20)
    first = run("{ posts(pagination: {first: 3}) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } "
                "nodes { id } } }", store=store)["data"]["posts"]
    assert first["totalCount"] == 20 and [n["id"] for n in first["nodes"]] == ["1", "2", "3"]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    after = first["pageInfo"]["endCursor"]
    second = run("query($after: String) { posts(pagination: {first: 2, after: $after}) { edges { cursor node { id } } "
                 "pageInfo { hasPreviousPage } } }", {"after": after}, store)["data"]["posts"]
    assert [e["node"]["id"] for e in second["edges"]] == ["4", "5"] and second["pageInfo"]["hasPreviousPage"]
    assert decode_cursor(second["edges"][0]["cursor"]) == 3 and encode_cursor(3) == second["edges"][0]["cursor"]


def test_nested_fields_aliases_typename_fragments_and_directives() -> None:
    query = """
      query One($id: ID!, $withPosts: Boolean = false) {
        who: user(id: $id) { __typename ...Bits posts(first: 1) @include(if: $withPosts) { title } }
        post(id: "3") { ... on Post { title author { name } } }
      }
      fragment Bits on User { name email @skip(if: true) }
    """
    data = run(query, {"id": 3})["data"]
    assert data == {"who": {"__typename": "User", "name": "User 3"},
                    "post": {"title": "Post 3", "author": {"name": "User 3"}}}
    with_posts = run(query, {"id": "3", "withPosts": True})["data"]["who"]
    assert with_posts["posts"] == [{"title": "Post 3"}]


def test_missing_records_are_null_and_mutations_report_field_errors() -> None:
    store = DataStore(count=3)
    assert run('{ user(id: "99") { id } }', store=store) == {"data": {"user": None}}
    result = run('mutation { createPost(input: {title: ""}) { id } }', store=store)
    assert result["data"] is None  # createPost is Post!: the null propagates to data
    (error,) = result["errors"]
    assert error["path"] == ["createPost"] and error["locations"] == [{"line": 1, "column": 12}]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["fields"] == [{"field": "title", "message": "must not be empty"}]
    assert run('mutation { deletePost(id: 2) updatePost(id: 3, input: {body: "new"}) { body } }', store=store) == {
        "data": {"deletePost": True, "updatePost": {"body": "new"}}}
    assert store.posts.get(2) is None


@pytest.mark.parametrize(
    ("query", "message", "location"),
    [
        ("{ users { edges { node { id nope } } } }", 'Cannot query field "nope" on type "User".', (1, 29)),
        ("{ users(page: 1) { totalCount } }", 'Unknown argument "page" on field "Query.users".', (1, 3)),
        ("{ user { id } }", 'Field "user" argument "id" of type "ID!" is required, but it was not provided.', (1, 3)),
        ("{ users }", 'Field "users" of type "UserConnection!" must have a selection of subfields. '
                      'Did you mean "users { ... }"?', (1, 3)),
        ('{ user(id: 1) { id { x } } }', 'Field "id" must not have a selection since type "ID!" has no subfields.',
         (1, 17)),
        ("{ ...Nope }", 'Unknown fragment "Nope".', (1, 3)),
        ("{ ... on User { id } }", 'Fragment cannot be spread here as objects of type "Query" can never be of type '
                                   '"User".', (1, 3)),
        ("query Q { user(id: $id) { id } }", 'Variable "$id" is not defined by operation "Q".', (1, 11)),
        ("subscription { postCreated { id } tick { seq } }", "Anonymous Subscription must select only one top level "
                                                             "field.", (1, 1)),
    ],
)
def test_validation_errors(query: str, message: str, location: tuple[int, int]) -> None:
    (error,) = errors_of(query)
    assert error["message"] == message
    assert error["locations"][0] == {"line": location[0], "column": location[1]}


def test_every_validation_error_is_reported() -> None:
    assert len(errors_of("{ a b users { c } }")) == 3


def test_fragment_cycles_are_refused() -> None:
    errors = errors_of("{ user(id: 1) { ...A } } fragment A on User { ...B } fragment B on User { ...A }")
    assert errors[0]["message"] == 'Cannot spread fragment "A" within itself.'


def test_operation_selection() -> None:
    two = "query A { users { totalCount } } query B { posts { totalCount } }"
    assert run(two, operation="B") == {"data": {"posts": {"totalCount": 20}}}
    assert errors_of(two)[0]["message"] == "Must provide operation name if query contains multiple operations."
    assert errors_of(two, operation="C")[0]["message"] == 'Unknown operation named "C".'


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, 'Variable "$input" of required type "CreatePostInput!" was not provided.'),
        ({"input": None}, 'Variable "$input" got invalid value null; Expected non-nullable type '
                          '"CreatePostInput!" not to be null.'),
        ({"input": {"body": "x"}}, 'Variable "$input" got invalid value {"body":"x"}; Field "title" of required '
                                   'type "String!" was not provided.'),
        ({"input": {"title": "t", "extra": 1}}, 'Variable "$input" got invalid value {"title":"t","extra":1}; '
                                                'Field "extra" is not defined by type "CreatePostInput".'),
        ({"input": {"title": 5}}, 'Variable "$input" got invalid value {"title":5}; At "title": String cannot '
                                  "represent a non string value: 5"),
    ],
)
def test_variable_errors(variables: dict[str, Any], message: str) -> None:
    (error,) = errors_of(CREATE_POST, variables)
    assert error["message"] == message and error["locations"] == [{"line": 1, "column": 21}]


def test_int_variables_are_checked() -> None:
    (error,) = errors_of(GET_USERS, {"first": "ten"})
    assert error["message"].endswith('Int cannot represent non-integer value: "ten"')
    result = run(GET_USERS, {"first": 500})
    assert result["data"] is None and "pagination.first must be from 0 to 100" in result["errors"][0]["message"]


def test_subscription_source_reads_the_root_field_and_defaults() -> None:
    prepared = prepare(SCHEMA, parse("subscription($n: Int) { tick(count: $n) { seq } }"), None)
    assert subscription_source(SCHEMA, prepared, {"n": 3}) == ("tick", {"intervalMs": 1000, "count": 3})
    event = execute(SCHEMA, prepared, {"n": 3}, None, {"tick": {"seq": 1, "timestamp": "t", "epochMs": 1.0}})
    assert event == {"data": {"tick": {"seq": 1}}}


def _failing(parent: Any, args: dict[str, Any], context: Any) -> Any:
    raise FieldError("boom")


TINY = Schema(
    types={
        "Query": {"strict": FieldDef("Box!", lambda p, a, c: {}), "loose": FieldDef("Box", lambda p, a, c: {}),
                  "items": FieldDef("[String]!", lambda p, a, c: ["a", None])},
        "Box": {"must": FieldDef("String!", _failing), "may": FieldDef("String", _failing),
                "absent": FieldDef("String!")},
    },
    inputs={},
    roots={"query": "Query"},
)


def test_null_propagation_follows_the_spec() -> None:
    def go(query: str) -> dict[str, Any]:
        return execute(TINY, prepare(TINY, parse(query), None), None, None)

    assert go("{ loose { may } }") == {"data": {"loose": {"may": None}},
                                       "errors": [{"message": "boom", "locations": [{"line": 1, "column": 11}],
                                                   "path": ["loose", "may"]}]}
    assert go("{ loose { must } }")["data"] == {"loose": None}
    assert go("{ strict { must } }")["data"] is None
    absent = go("{ loose { absent } }")
    assert absent["data"] == {"loose": None}
    assert absent["errors"][0]["message"] == "Cannot return null for non-nullable field Box.absent."
    assert go("{ items }") == {"data": {"items": ["a", None]}}
    mutation = errors_of_tiny("mutation { x }")
    assert mutation == [{"message": "Schema is not configured to execute mutation operation.",
                         "locations": [{"line": 1, "column": 1}]}]


def errors_of_tiny(query: str) -> list[Any]:
    with pytest.raises(GraphQLRequestError) as info:
        prepare(TINY, parse(query), None)
    return info.value.errors
