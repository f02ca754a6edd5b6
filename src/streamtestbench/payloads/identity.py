"""Seed 002's personal fields for one virtual user: realistic in shape, fake by construction.

Emails use the reserved ``example.test`` domain and phone numbers the fictional 555-01xx block,
so nothing generated can reach a real person. A user's identity depends only on the generator's
salt and the VU number, so it is the same whichever order VUs first send in, and can be made again at any time.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

FIRST_NAMES = ("ada", "bo", "chen", "dara", "eli", "farah", "gus", "hana", "ivo", "jun", "kemi", "lars",
               "mira", "nico", "oona", "pia", "quinn", "ravi", "sol", "tomas", "uma", "vik", "wren", "yara")
LAST_NAMES = ("alder", "birch", "cedar", "dale", "elm", "fern", "grove", "heath", "ivy", "juniper", "kestrel",
              "linden", "moss", "north", "oak", "pine", "reed", "stone", "thorn", "vale", "west", "yew")
AREA_CODES = ("202", "312", "415", "512", "617", "646", "720", "808", "917")
CITIES = ((40.7128, -74.0060), (51.5072, -0.1276), (48.8566, 2.3522), (35.6762, 139.6503),
          (-33.8688, 151.2093), (19.0760, 72.8777), (-23.5505, -46.6333), (52.5200, 13.4050))
"""City centres users live around; positions are scattered up to ~10 km from one."""

PLATFORMS = (("android", "14"), ("android", "13"), ("ios", "17.5"), ("ios", "18.1"))
LOCALES = ("en-US", "en-GB", "fr-FR", "ja-JP", "en-AU", "hi-IN", "pt-BR", "de-DE")
"""One locale per city in CITIES, in the same order."""


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: str
    device_id: str
    session_id: str
    email: str
    phone_number: str
    home_lat: float
    home_lon: float
    platform: str
    os_version: str
    locale: str


def uuid4_text(raw: bytes) -> str:
    """16 bytes as a version-4 UUID's text (what ``uuid.UUID(bytes=raw, version=4)`` prints, faster)."""
    h = bytearray(raw)
    h[6] = (h[6] & 0x0F) | 0x40
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _spread(two_bytes: bytes, half_width: float) -> float:
    """Two digest bytes as an offset in [-half_width, half_width]."""
    return (int.from_bytes(two_bytes, "big") / 65535 * 2 - 1) * half_width


def make_identity(salt: int, vu: int) -> Identity:
    """The identity of VU ``vu`` for a generator seeded with ``salt``.

    Derived from a hash of (salt, vu) rather than a seeded generator: a few microseconds, so
    identities need not be kept for every VU of a large run.
    """
    d = hashlib.blake2b(f"{salt}:{vu}".encode(), digest_size=64).digest()
    platform, os_version = PLATFORMS[d[6] % len(PLATFORMS)]
    city = d[37] % len(CITIES)
    lat, lon = CITIES[city]
    return Identity(
        user_id=f"usr_{d[:6].hex()}",
        device_id=f"{platform}-{d[7:15].hex()}",
        session_id=uuid4_text(d[16:32]),
        email=f"{FIRST_NAMES[d[32] % len(FIRST_NAMES)]}.{LAST_NAMES[d[33] % len(LAST_NAMES)]}{d[34] % 100}"
              "@example.test",
        phone_number=f"+1-{AREA_CODES[d[35] % len(AREA_CODES)]}-555-01{d[36] % 100:02d}",
        home_lat=round(lat + _spread(d[38:40], 0.09), 6),
        home_lon=round(lon + _spread(d[40:42], 0.09), 6),
        platform=platform,
        os_version=os_version,
        locale=LOCALES[city],
    )


CACHE_LIMIT = 4096
"""Identities kept per generator: a rate sender revisits a few VUs often; memory stays bounded."""


class Identities:
    """Identities by VU, made on first use and kept up to :data:`CACHE_LIMIT` at a time."""

    def __init__(self, salt: int) -> None:
        self.salt = salt
        self._known: dict[int, Identity] = {}

    def of(self, vu: int) -> Identity:
        identity = self._known.get(vu)
        if identity is None:
            if len(self._known) >= CACHE_LIMIT:
                self._known.clear()
            identity = self._known[vu] = make_identity(self.salt, vu)
        return identity


def gps_near(identity: Identity, rng: random.Random) -> dict[str, float]:
    """A position within ~200 m of the user's home, as phones report it (6 decimals)."""
    return {"lat": round(identity.home_lat + rng.uniform(-0.002, 0.002), 6),
            "lon": round(identity.home_lon + rng.uniform(-0.002, 0.002), 6),
            "accuracy_m": round(rng.uniform(3.0, 25.0), 1)}
