from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamtestbench.flows.jsonpath import MISSING, compile_path, parse_path, single_key

DOCUMENT = {
    "data": {"users": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], "createPost": {"id": "p1"}},
    "tokens": {"accessToken": "t"},
    "x-request-id": "r1",
    "empty": None,
    "flag": False,
    "_id": {"$oid": "abc"},
    "$top": 1,
}


@pytest.mark.parametrize("path, expected", [
    ("data.users[0].id", 1),
    ("$.data.users[0].id", 1),
    ("$.data.users[-1].name", "b"),
    ("data.users.1.id", 2),
    ("tokens.accessToken", "t"),
    ("x-request-id", "r1"),
    ("['x-request-id']", "r1"),
    ("data['createPost'].id", "p1"),
    ("empty", None),
    ("flag", False),
    ("$", DOCUMENT),
    ("$.", DOCUMENT),
    ("_id.$oid", "abc"),
    ("$top", 1),
    ("$.$top", 1),
    ("$['x-request-id']", "r1"),
])
def test_reads_present_values(path: str, expected: Any) -> None:
    assert compile_path(path)(DOCUMENT) == expected


@pytest.mark.parametrize("path", [
    "nothing", "data.users[2]", "data.users[-3]", "data.users.x", "data.users[0].id.deeper",
    "tokens[0]", "empty.x", "data.createPost[0]",
])
def test_absent_values_are_missing(path: str) -> None:
    assert compile_path(path)(DOCUMENT) is MISSING


def test_missing_is_falsy_and_not_none() -> None:
    assert not MISSING
    assert MISSING is not None
    assert repr(MISSING) == "MISSING"


def test_non_container_documents_are_missing() -> None:
    assert compile_path("a")("text") is MISSING
    assert compile_path("a")([1]) is MISSING
    assert compile_path("[0]")([5]) == 5


@pytest.mark.parametrize("path", ["", "a..b", "a.", ".a", "a[x]", "a[", "a[0]b", "a[]", "a b", "a]"])
def test_malformed_paths_fail_at_compile_naming_the_path(path: str) -> None:
    with pytest.raises(ValueError) as error:
        compile_path(path)
    assert repr(path) in str(error.value)


def test_parse_path_gives_keys_and_indexes() -> None:
    assert parse_path("$.a[0].b-c[-2]") == ("a", 0, "b-c", -2)


_KEY = st.text(alphabet="abcxyz_-", min_size=1, max_size=6)


@st.composite
def nested(draw: st.DrawFn) -> tuple[Any, list[str | int], Any]:
    """A document, a path into it and the value at the end of that path."""
    leaf = draw(st.integers() | st.text(max_size=5) | st.none() | st.booleans())
    steps: list[str | int] = draw(st.lists(st.one_of(_KEY, st.integers(min_value=0, max_value=3)), max_size=6))
    value: Any = leaf
    for step in reversed(steps):
        if isinstance(step, str):
            value = {**draw(st.dictionaries(_KEY, st.integers(), max_size=3)), step: value}
        else:
            filler = draw(st.lists(st.integers(), min_size=step, max_size=step))
            value = [*filler, value]
    return value, steps, leaf


@given(nested())
def test_generated_paths_read_their_leaf(case: tuple[Any, list[str | int], Any]) -> None:
    document, steps, leaf = case
    text = "$" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in steps)
    assert compile_path(text)(document) == leaf
    assert compile_path(text + ".zzzz-not-there")(document) is MISSING


@pytest.mark.parametrize("path, key", [("id", "id"), ("$.id", "id"), ("['a.b']", "a.b"), ("data.id", None),
                                       ("[0]", None), ("$", None)])
def test_single_key_names_a_one_key_path(path: str, key: str | None) -> None:
    assert single_key(path) == key
