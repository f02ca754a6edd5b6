"""The in-memory users/posts store: deterministic seed, validation, CRUD, cached JSON, bounds."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamtestbench.target import datastore
from streamtestbench.target.datastore import DataStore, ValidationFailed, parse_id

NOW = 1_800_000_000


def test_seed_is_deterministic_and_complete() -> None:
    store, again = DataStore(), DataStore()
    assert len(store.users) == 1000 and len(store.posts) == 1000
    assert store.users.get(1) == {
        "id": 1,
        "name": "User 1",
        "email": "user1@example.test",
        "username": "user1",
        "createdAt": "2024-01-01T00:01:00Z",
        "updatedAt": "2024-01-01T00:01:00Z",
    }
    post = store.posts.get(1000)
    assert post is not None and post["title"] == "Post 1000" and post["authorId"] == 1000
    assert [u for u in store.users] == [u for u in again.users]
    assert [p for p in store.posts] == [p for p in again.posts]


def test_encoded_is_the_record_as_json_and_follows_updates() -> None:
    store = DataStore(count=3)
    first = store.users.encoded(2)
    assert first is not None and orjson.loads(first) == store.users.get(2)
    assert store.users.encoded(2) is first  # cached
    store.users.update(2, {"name": "Renamed"}, NOW)
    updated = store.users.encoded(2)
    assert updated is not None and orjson.loads(updated)["name"] == "Renamed"
    assert store.users.encoded(99) is None


def test_create_assigns_the_next_id_and_timestamps() -> None:
    store = DataStore(count=5)
    user = store.users.create({"name": "New", "email": "new@example.test"}, NOW)
    assert user["id"] == 6 and user["username"] == "new"
    assert user["createdAt"] == user["updatedAt"] == "2027-01-15T08:00:00Z"
    post = store.posts.create({"title": "T", "authorId": "6"}, NOW)
    assert post == {**post, "id": 6, "authorId": 6, "body": ""}
    assert store.posts.create({"title": "No author"}, NOW)["authorId"] == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, [("name", "is required"), ("email", "is required")]),
        ({"name": " ", "email": "x"}, [("name", "must not be empty"), ("email", "must be an email address")]),
        ({"name": 5, "email": "a@b.c"}, [("name", "must be a string")]),
    ],
)
def test_user_validation_names_every_bad_field(body: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    with pytest.raises(ValidationFailed) as info:
        DataStore(count=1).users.create(body, NOW)
    assert [(e.field, e.message) for e in info.value.errors] == expected


def test_post_validation_checks_the_author() -> None:
    store = DataStore(count=2)
    with pytest.raises(ValidationFailed) as info:
        store.posts.create({"title": "t", "authorId": 7}, NOW)
    assert info.value.errors[0].field == "authorId" and "no user" in info.value.errors[0].message
    with pytest.raises(ValidationFailed, match="title"):
        store.posts.create({"body": "no title"}, NOW)
    with pytest.raises(ValidationFailed, match="authorId"):
        store.posts.update(1, {"authorId": "abc"}, NOW)


def test_update_changes_only_given_fields_and_delete_removes() -> None:
    store = DataStore(count=3)
    updated = store.posts.update(2, {"title": "Edited"}, NOW)
    assert updated is not None and updated["title"] == "Edited" and updated["body"] == "Body of post 2."
    assert store.posts.update(42, {"title": "x"}, NOW) is None
    assert store.posts.delete(2) and not store.posts.delete(2)
    assert store.posts.get(2) is None and store.posts.encoded(2) is None
    assert store.posts.page(0, 10) == [1, 3]


def test_page_walks_in_creation_order() -> None:
    store = DataStore(count=10)
    assert store.users.page(0, 3) == [1, 2, 3]
    assert store.users.page(8, 5) == [9, 10]
    assert store.users.page(20, 5) == []


def test_created_records_beyond_the_bound_push_out_the_oldest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datastore, "MAX_CREATED", 3)
    store = DataStore(count=2)
    ids = [store.users.create({"name": f"n{i}", "email": f"n{i}@x.test"}, NOW)["id"] for i in range(5)]
    assert ids == [3, 4, 5, 6, 7]
    assert store.users.page(0, 10) == [1, 2, 5, 6, 7]  # the seeded ones stay


def test_listeners_hear_about_created_records() -> None:
    store = DataStore(count=1)
    heard: list[int] = []
    store.posts.listeners.append(lambda post: heard.append(post["id"]))
    store.posts.create({"title": "a"}, NOW)
    store.posts.update(1, {"title": "b"}, NOW)
    assert heard == [2]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", 12), (3, 3), ("0", None), (0, None), ("-1", None), ("1e3", None), (True, None), ("١", None), (None, None)],
)
def test_parse_id(raw: Any, expected: int | None) -> None:
    assert parse_id(raw) == expected
