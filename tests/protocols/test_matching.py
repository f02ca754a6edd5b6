"""SubsetMatch: which received messages satisfy an expect."""

from __future__ import annotations

import pytest

from streamtestbench.protocols.matching import SubsetMatch, subset_match


@pytest.mark.parametrize(("actual", "expected", "result"), [
    ({"a": 1, "b": 2}, {"a": 1}, True),
    ({"a": {"x": 1, "y": 2}}, {"a": {"x": 1}}, True),
    ({"a": {"x": 1}}, {"a": {"x": 2}}, False),
    ({"a": 1}, {"b": 1}, False),
    ({"a": [1, 2]}, {"a": [1, 2]}, True),
    ("text", {"a": 1}, False),
    (3, 3, True),
])
def test_subset_match(actual: object, expected: object, result: bool) -> None:
    assert subset_match(actual, expected) is result


def test_fields_and_text_must_both_hold() -> None:
    matcher = SubsetMatch.of({"type": "pong", "id": "7"}, contains="pong")
    assert matcher.accepts(b'{"type":"pong","id":"7"}', {"type": "pong", "id": "7"})
    assert not matcher.accepts(b'{"type":"pong","id":"8"}', {"type": "pong", "id": "8"})
    assert not SubsetMatch.of({"type": "pong"}).accepts(b"pong", None)
    assert SubsetMatch.of(contains=b"hello").accepts(b"say hello", None)


def test_only_a_matcher_asking_for_broadcasts_wants_them() -> None:
    assert SubsetMatch.of({"type": "broadcast"}).wants_broadcasts
    assert not SubsetMatch.of({"type": "pong"}).wants_broadcasts
