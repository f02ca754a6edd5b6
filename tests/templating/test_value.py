from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamtestbench.templating import TemplateError, compile_json_body, compile_value

from ._support import context


def test_contract_example_keeps_native_types() -> None:
    compiled = compile_value({"id": "{{ $randomUUID() }}", "n": "{{ $randomInt(1,5) }}", "x": 1})
    assert not compiled.is_static
    rendered = compiled.render(context())
    assert isinstance(rendered["id"], str) and len(rendered["id"]) == 36
    assert isinstance(rendered["n"], int) and 1 <= rendered["n"] <= 5
    assert rendered["x"] == 1


def test_whole_string_variables_keep_their_json_type() -> None:
    ctx = context(vu=4, user={"id": 7, "tags": ["a"]}, ok=True)
    value = compile_value({"authorId": "${vu}", "user": "{{ user }}", "ok": "${ok}", "name": "User ${vu}"})
    assert value.render(ctx) == {"authorId": 4, "user": {"id": 7, "tags": ["a"]}, "ok": True, "name": "User 4"}


def test_static_value_renders_as_one_shared_object() -> None:
    source = {"a": [1, {"b": "text"}], "c": None}
    compiled = compile_value(source)
    assert compiled.is_static
    assert compiled.render(context()) == source
    assert compiled.render(context()) is compiled.render(context(vu=9))
    assert compiled.render_static() == source


def test_escapes_and_environment_values_are_applied_in_static_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STB_TEST_REGION", "eu")
    source = {"price": "$${amount}", "region": "{{ $env.STB_TEST_REGION }}", "list": ["$${x}"]}
    compiled = compile_value(source)
    assert compiled.is_static
    assert compiled.render(context()) == {"price": "${amount}", "region": "eu", "list": ["${x}"]}
    body = compile_json_body(source)
    assert body.is_static
    assert body.render_bytes(context()) == b'{"price":"${amount}","region":"eu","list":["${x}"]}'
    assert source["price"] == "$${amount}"


def test_a_dynamic_value_has_no_static_rendering() -> None:
    with pytest.raises(ValueError, match="holds templates"):
        compile_value("${vu}").render_static()


def test_dynamic_paths_are_rebuilt_and_the_template_is_untouched() -> None:
    source = {"static": {"deep": [1, 2]}, "list": ["a", "${vu}", {"k": "{{ iteration }}"}], "tail": 0}
    compiled = compile_value(source)
    first = compiled.render(context(vu=1, iteration=0))
    second = compiled.render(context(vu=2, iteration=5))
    assert first == {"static": {"deep": [1, 2]}, "list": ["a", 1, {"k": 0}], "tail": 0}
    assert second == {"static": {"deep": [1, 2]}, "list": ["a", 2, {"k": 5}], "tail": 0}
    assert list(first) == ["static", "list", "tail"]
    assert first["static"] is second["static"]
    assert source["list"] == ["a", "${vu}", {"k": "{{ iteration }}"}]


def test_templated_keys_render_in_order() -> None:
    compiled = compile_value({"first": 1, "user-${vu}": "${iteration}", "last": 2})
    assert list(compiled.render(context(vu=3, iteration=1)).items()) == [("first", 1), ("user-3", 1), ("last", 2)]


def test_tuples_compile_like_lists() -> None:
    assert compile_value(("${vu}", 1)).render(context(vu=8)) == [8, 1]


def test_bad_template_inside_a_value_fails_at_compile() -> None:
    with pytest.raises(TemplateError, match="unknown function"):
        compile_value({"a": [{"b": "{{ $nope() }}"}]})


def test_static_body_is_encoded_once() -> None:
    body = compile_json_body({"type": "ping", "data": {}})
    assert body.is_static
    first = body.render_bytes(context())
    assert first == b'{"type":"ping","data":{}}'
    assert body.render_bytes(context()) is first


def test_dynamic_body_renders_each_time() -> None:
    body = compile_json_body({"name": "Load Test User ${vu}", "email": "loadtest+${vu}-${iteration}@example.test"})
    assert not body.is_static
    assert orjson.loads(body.render_bytes(context(vu=2, iteration=3))) == {
        "name": "Load Test User 2", "email": "loadtest+2-3@example.test"}
    assert body.render(context(vu=1)) == {"name": "Load Test User 1", "email": "loadtest+1-0@example.test"}


def test_declared_names_pass_through_values() -> None:
    compiled = compile_value({"a": "${HOME}", "b": "${token}"}, declared={"token"})
    assert compiled.render(context(token="t")) == {"a": "${HOME}", "b": "t"}


_PLAIN = st.text(alphabet=st.characters(blacklist_characters="${}", codec="utf-8"), max_size=10)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53), max_value=2**53) | _PLAIN,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_PLAIN, children, max_size=4),
    max_leaves=20,
)


@given(_JSON)
def test_values_without_templates_are_static_and_encode_as_orjson(value: object) -> None:
    compiled = compile_json_body(value)
    assert compiled.is_static
    assert compiled.render_bytes(context()) == orjson.dumps(value)


@given(_JSON)
def test_a_templated_leaf_changes_only_its_own_place(value: object) -> None:
    wrapped = {"payload": value, "who": "${vu}"}
    assert compile_value(wrapped).render(context(vu=6)) == {"payload": value, "who": 6}
