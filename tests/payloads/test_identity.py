from __future__ import annotations

import re

from streamtestbench.payloads import identity
from streamtestbench.payloads.identity import Identities, make_identity


def test_identities_are_fake_by_construction() -> None:
    for vu in range(300):
        person = make_identity(1234, vu)
        assert person.email.endswith("@example.test")
        assert re.fullmatch(r"\+1-\d{3}-555-01\d\d", person.phone_number)
        assert re.fullmatch(r"usr_[0-9a-f]{12}", person.user_id)
        assert re.fullmatch(r"(android|ios)-[0-9a-f]{16}", person.device_id)
        assert person.session_id[14] == "4"  # a version-4 UUID


def test_an_identity_depends_only_on_salt_and_vu() -> None:
    assert make_identity(1, 5) == make_identity(1, 5)
    assert make_identity(1, 5) != make_identity(2, 5)
    assert len({make_identity(1, vu).user_id for vu in range(1000)}) == 1000


def test_home_positions_lie_near_a_known_city_with_its_locale() -> None:
    for vu in range(200):
        person = make_identity(9, vu)
        city = identity.LOCALES.index(person.locale)
        lat, lon = identity.CITIES[city]
        assert abs(person.home_lat - lat) <= 0.09 and abs(person.home_lon - lon) <= 0.09


def test_the_cache_stays_bounded_and_gives_the_same_identity_after_eviction() -> None:
    people = Identities(77)
    first = people.of(0)
    for vu in range(1, identity.CACHE_LIMIT + 10):
        people.of(vu)
    assert len(people._known) <= identity.CACHE_LIMIT
    assert people.of(0) == first


def test_uuid_text_matches_the_standard_library() -> None:
    import uuid

    from streamtestbench.payloads.identity import uuid4_text

    for seed in range(50):
        raw = bytes((seed * 37 + i * 11) % 256 for i in range(16))
        assert uuid4_text(raw) == str(uuid.UUID(bytes=raw, version=4))
