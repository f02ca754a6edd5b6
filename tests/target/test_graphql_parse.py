"""The hand-written GraphQL parser: the supported subset, and syntax errors with locations."""

from __future__ import annotations

import pytest

from streamtestbench.target.graphql_parse import (
    EnumValue,
    Field,
    FragmentSpread,
    InlineFragment,
    SyntaxErrorGQL,
    Variable,
    parse,
)

GET_USERS = "query GetUsers($first: Int) { users(pagination: { first: $first }) { edges { node { id name email } } } }"


def test_seed_004_query() -> None:
    (op,) = parse(GET_USERS).operations
    assert (op.kind, op.name) == ("query", "GetUsers")
    assert [(v.name, v.type, v.has_default) for v in op.variables] == [("first", "Int", False)]
    (users,) = op.selections
    assert isinstance(users, Field) and users.args == {"pagination": {"first": Variable("first")}}
    edges = users.selections[0]
    assert isinstance(edges, Field)
    node = edges.selections[0]
    assert isinstance(node, Field) and [f.name for f in node.selections if isinstance(f, Field)] == [
        "id", "name", "email"]


def test_mutation_with_non_null_input_and_defaults() -> None:
    doc = parse('mutation CreatePost($input: CreatePostInput!, $n: [Int!] = [1, 2]) '
                '{ createPost(input: $input) { id title } }')
    op = doc.operations[0]
    assert op.kind == "mutation"
    assert [(v.type, v.default) for v in op.variables] == [("CreatePostInput!", None), ("[Int!]", [1, 2])]


def test_literals_aliases_and_shorthand() -> None:
    (op,) = parse('{ a: f(i: -3, x: 1.5e2, s: "q\\"\\u00e9\\n", b: true, n: null, e: DESC, l: [1 "x"], '
                  'o: {k: {j: false}}) }').operations
    assert op.kind == "query" and op.name is None
    field = op.selections[0]
    assert isinstance(field, Field) and field.alias == "a" and field.key == "a" and field.name == "f"
    assert field.args == {"i": -3, "x": 150.0, "s": 'q"é\n', "b": True, "n": None, "e": EnumValue("DESC"),
                          "l": [1, "x"], "o": {"k": {"j": False}}}


def test_block_string_comments_and_commas() -> None:
    source = '# comment\nquery Q {\n  f(text: """\n    first\n      second\n  """), g\n}'
    field = parse(source).operations[0].selections[0]
    assert isinstance(field, Field) and field.args == {"text": "first\n  second"}
    assert (field.line, field.column) == (3, 3)


def test_fragments_inline_fragments_and_directives() -> None:
    doc = parse("query Q($s: Boolean!) { user(id: 1) { ...UserBits ... on User @include(if: $s) { email } } } "
                "fragment UserBits on User { id name @skip(if: true) }")
    user = doc.operations[0].selections[0]
    assert isinstance(user, Field)
    spread, inline = user.selections
    assert isinstance(spread, FragmentSpread) and spread.name == "UserBits"
    assert isinstance(inline, InlineFragment) and inline.type_condition == "User"
    assert inline.directives[0].name == "include" and inline.directives[0].args == {"if": Variable("s")}
    assert doc.fragments["UserBits"].type_condition == "User"


def test_several_operations() -> None:
    doc = parse("query A { a } mutation B { b } subscription C { c }")
    assert [(o.kind, o.name) for o in doc.operations] == [("query", "A"), ("mutation", "B"), ("subscription", "C")]


@pytest.mark.parametrize(
    ("source", "message", "line", "column"),
    [
        ("", "Unexpected <EOF>.", 1, 1),
        ("{ users { ", "Expected Name, found <EOF>.", 1, 11),
        ("query { a(b: ) }", 'Unexpected ")".', 1, 14),
        ("{ x } }", 'Unexpected "}".', 1, 7),
        ("{\n  a(x: $v\n", 'Expected Name, found <EOF>.', 3, 1),
        ("{ a(x: 1, x: 2) }", 'There can be only one argument named "x".', 1, 11),
        ("{ a ~ }", "Unexpected character '~'.", 1, 5),
        ('{ a(s: "open) }', "Unexpected character '\"'.", 1, 8),
        ("query Q($v: Int = $w) { a }", 'Unexpected "$".', 1, 19),
        ("{ }", 'Expected Name, found "}".', 1, 3),
        ("type User { id: ID }", 'Unexpected Name "type".', 1, 1),
    ],
)
def test_syntax_errors_carry_a_location(source: str, message: str, line: int, column: int) -> None:
    with pytest.raises(SyntaxErrorGQL) as info:
        parse(source)
    assert str(info.value) == f"Syntax Error: {message}"
    assert (info.value.line, info.value.column) == (line, column)
