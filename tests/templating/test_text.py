from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamtestbench.templating import TemplateError, compile_text, to_text

from ._support import context


def test_static_text_is_static_and_renders_itself() -> None:
    compiled = compile_text("/api/v1/users?limit=10")
    assert compiled.is_static
    assert compiled.render(context()) == "/api/v1/users?limit=10"


def test_both_variable_syntaxes_read_builtins_and_variables() -> None:
    compiled = compile_text("/users/${vu}/${iteration}?t={{ token }}&u={{vu}}")
    assert not compiled.is_static
    assert compiled.render(context(vu=7, iteration=2, token="abc")) == "/users/7/2?t=abc&u=7"


def test_variables_come_before_builtins() -> None:
    ctx = context(vu=1)
    ctx.variables["vu"] = "override"
    assert compile_text("${vu}").render(ctx) == "override"


def test_unknown_variable_renders_empty_and_is_noted() -> None:
    ctx = context()
    assert compile_text("Bearer ${token}!").render(ctx) == "Bearer !"
    assert ctx.missing == {"token"}


def test_dotted_variable_reads_into_captured_json() -> None:
    ctx = context(auth={"accessToken": "t1", "roles": ["a", "b"]})
    assert compile_text("Bearer {{ auth.accessToken }} {{ auth.roles[-1] }}").render(ctx) == "Bearer t1 b"
    assert compile_text("{{ auth.nothing }}").render(ctx) == ""
    assert "auth.nothing" in ctx.missing


def test_a_variable_named_with_a_dot_wins() -> None:
    ctx = context(auth={"accessToken": "nested"})
    ctx.variables["auth.accessToken"] = "flat"
    assert compile_text("{{ auth.accessToken }}").render(ctx) == "flat"


def test_values_read_as_json_inside_text() -> None:
    ctx = context(flag=True, nothing=None, items=[1, 2], ratio=0.5)
    assert compile_text("${flag} ${nothing} ${items} ${ratio}").render(ctx) == "true null [1,2] 0.5"
    assert to_text({"a": 1}) == '{"a":1}'


@pytest.mark.parametrize("template, expected", [
    ("${flag}", "true"), ("[${nothing}]", "[null]"), ("/x/${items}?r=${ratio}", "/x/[1,2]?r=0.5"),
    ("${flag}${nothing}", "truenull"), ("n=${count}&s=${name}", "n=7&s=ann"),
])
def test_one_and_two_expression_templates_read_values_as_json(template: str, expected: str) -> None:
    ctx = context(flag=True, nothing=None, items=[1, 2], ratio=0.5, count=7, name="ann")
    compiled = compile_text(template)
    assert compiled.render(ctx) == expected
    assert compiled.renderer()(ctx) == expected


def test_a_static_template_renderer_gives_its_text() -> None:
    assert compile_text("/plain").renderer()(context()) == "/plain"


def test_environment_is_read_once_at_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STB_TEST_HOST", "example.test")
    compiled = compile_text("https://{{ $env.STB_TEST_HOST }}/x")
    monkeypatch.setenv("STB_TEST_HOST", "changed.test")
    assert compiled.is_static
    assert compiled.render(context()) == "https://example.test/x"


def test_missing_environment_value_renders_empty_and_is_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STB_TEST_UNSET", raising=False)
    ctx = context()
    assert compile_text("[{{ $env.STB_TEST_UNSET }}]").render(ctx) == "[]"
    assert ctx.missing == {"$env.STB_TEST_UNSET"}


def test_functions_draw_from_the_context_rng() -> None:
    compiled = compile_text("{{ $randomUUID() }} {{ $randomInt(1, 10) }} {{ $randomString(8) }} "
                            "{{ $randomItem('a', \"b\", 3) }}")
    first = compiled.render(context(seed=42))
    assert first == compiled.render(context(seed=42))
    assert first != compiled.render(context(seed=43))
    uuid_text, number, text, item = first.split(" ")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uuid_text)
    assert 1 <= int(number) <= 10
    assert re.fullmatch(r"[A-Za-z0-9]{8}", text)
    assert item in {"a", "b", "3"}


def test_random_int_is_inclusive_of_both_bounds() -> None:
    compiled = compile_text("{{ $randomInt(1, 3) }}")
    ctx = context()
    assert {compiled.render_value(ctx) for _ in range(200)} == {1, 2, 3}


def test_random_int_past_float_precision_stays_in_range_and_reproducible() -> None:
    compiled = compile_text("{{ $randomInt(0, 99999999999999999999) }}")
    values = [compiled.render_value(context(seed=seed)) for seed in range(20)]
    assert all(isinstance(value, int) and 0 <= value <= 99999999999999999999 for value in values)
    assert any(value > 2**53 for value in values)
    assert values == [compiled.render_value(context(seed=seed)) for seed in range(20)]


def test_timestamp_is_milliseconds_since_epoch() -> None:
    import time

    before = time.time_ns() // 1_000_000
    value = compile_text("{{ $timestamp() }}").render_value(context())
    after = time.time_ns() // 1_000_000
    assert isinstance(value, int)
    assert before <= value <= after


def test_single_expression_keeps_its_type_in_render_value() -> None:
    ctx = context(vu=5, user={"id": 9})
    assert compile_text("${vu}").render_value(ctx) == 5
    assert compile_text("{{ user }}").render_value(ctx) == {"id": 9}
    assert compile_text(" ${vu}").render_value(ctx) == " 5"


@pytest.mark.parametrize("text, fragment", [
    ("{{ $nope() }}", "unknown function $nope()"),
    ("{{ 1 + 2 }}", "malformed expression"),
    ("{{ }}", "malformed expression"),
    ("{{ $randomInt(1) }}", "takes 2 arguments"),
    ("{{ $randomInt(5, 1) }}", "below the first"),
    ("{{ $randomInt('a', 2) }}", "whole numbers"),
    ("{{ $randomItem() }}", "at least one item"),
    ("{{ $randomString(-1) }}", "length must be"),
    ("{{ $randomUUID(1) }}", "takes 0 arguments"),
    ("{{ $randomItem(foo) }}", "literals"),
    ("{{ $randomItem(True) }}", "literals"),
    ("x {{ vu", "unclosed"),
])
def test_bad_templates_fail_at_compile_naming_the_text(text: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as error:
        compile_text(text)
    assert fragment in str(error.value)
    assert repr(text) in str(error.value)


def test_escape_renders_a_literal_dollar_brace() -> None:
    compiled = compile_text("cost $${vu} and ${vu}")
    assert compiled.render(context(vu=2)) == "cost ${vu} and 2"


def test_not_a_name_inside_dollar_braces_stays_text() -> None:
    compiled = compile_text("${1} ${a b} ${}")
    assert compiled.is_static
    assert compiled.render(context()) == "${1} ${a b} ${}"


def test_declared_names_keep_undeclared_references_literal() -> None:
    """After load, ``${HOME}`` can only be an escaped literal: with ``declared`` it stays text."""
    compiled = compile_text("${HOME} ${token} ${vu}", declared={"token"})
    ctx = context(vu=1, token="t")
    assert compiled.render(ctx) == "${HOME} t 1"
    assert not ctx.missing


def test_braces_that_are_not_templates_pass_through() -> None:
    query = "query { users { edges { node { id } } } }"
    assert compile_text(query).is_static
    assert compile_text("{a{b}}").render(context()) == "{a{b}}"


_PLAIN = st.text(alphabet=st.characters(blacklist_characters="${}"), max_size=50)
_NO_EXPRESSION = st.text(alphabet=st.sampled_from("ab ${}\n") | st.characters(), max_size=50).filter(
    lambda text: "${" not in text and "{{" not in text)


@given(_NO_EXPRESSION)
def test_text_without_expressions_renders_to_itself(text: str) -> None:
    compiled = compile_text(text)
    assert compiled.is_static
    assert compiled.render(context()) == text


@given(st.lists(st.one_of(_PLAIN, st.sampled_from(["${vu}", "{{ iteration }}", "{{name}}"])), max_size=8))
def test_rendering_substitutes_each_expression_in_place(pieces: list[str]) -> None:
    values = {"${vu}": "4", "{{ iteration }}": "9", "{{name}}": "ann"}
    expected = "".join(values.get(piece, piece) for piece in pieces)
    assert compile_text("".join(pieces)).render(context(vu=4, iteration=9, name="ann")) == expected


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_fast_uuid_matches_the_standard_library(bits: int) -> None:
    import uuid

    from streamtestbench.templating.expressions import uuid4_text

    assert uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))


def test_run_time_default_for_unset_or_empty_names() -> None:
    compiled = compile_text("Bearer ${token:-anonymous} ${vu:-0} ${user.name:-nobody}")
    ctx = context(vu=2)
    assert compiled.render(ctx) == "Bearer anonymous 2 nobody"
    assert not ctx.missing
    assert compiled.render(context(vu=2, token="t", user={"name": "ann"})) == "Bearer t 2 ann"
    assert compiled.render(context(vu=2, token="")) == "Bearer anonymous 2 nobody"


def test_a_default_keeps_the_value_type_of_a_set_name() -> None:
    assert compile_text("${count:-5}").render_value(context(count=3)) == 3
    assert compile_text("${count:-5}").render_value(context()) == "5"
