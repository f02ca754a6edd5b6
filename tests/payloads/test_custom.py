from __future__ import annotations

import random

import pytest

from streamtestbench.payloads import make_generator
from streamtestbench.templating import TemplateError


def test_custom_renders_the_template_per_message() -> None:
    gen = make_generator("CUSTOM", random.Random(1), template={
        "order": "{{ $randomInt(1, 1000) }}", "who": "vu-${vu}", "n": "{{ iteration }}", "fixed": [1, 2]})
    first, second = gen.next(3, 0), gen.next(3, 1)
    assert first["type"] == "custom" and first["correlation_id"] == "3-0"
    assert isinstance(first["order"], int) and 1 <= first["order"] <= 1000
    assert first["who"] == "vu-3" and first["fixed"] == [1, 2]
    assert (first["n"], second["n"]) == (0, 1)


def test_custom_templates_are_reproducible_from_the_seed() -> None:
    def run() -> list[bytes]:
        gen = make_generator("CUSTOM", random.Random(8), template={"id": "{{ $randomUUID() }}"}, timestamps=False)
        return [gen.next_bytes(0, seq) for seq in range(5)]

    assert run() == run()


def test_a_template_that_is_not_an_object_is_carried_as_data() -> None:
    message = make_generator("CUSTOM", random.Random(1), template=["{{ $randomInt(5, 5) }}"]).next(0, 0)
    assert message["data"] == [5]


def test_a_malformed_template_fails_when_the_generator_is_made() -> None:
    with pytest.raises(TemplateError):
        make_generator("CUSTOM", random.Random(1), template={"x": "{{ $noSuchFunction() }}"})


def test_custom_without_a_template_is_a_generic_analytics_event() -> None:
    message = make_generator("CUSTOM", random.Random(1)).next(0, 0)
    assert message["event"] and message["properties"]["currency"] == "USD"
