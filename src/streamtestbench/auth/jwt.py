"""HS256 JWT minting and verification, shared by the reference target and the load generator.

One small wrapper over PyJWT so that every caller gets the same claims (``iat``/``exp``), the same
algorithm pinning and one exception type to catch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import jwt as pyjwt

__all__ = [
    "ALGORITHM",
    "DEFAULT_TTL_SECONDS",
    "DEV_SECRET",
    "SECRET_ENV_VAR",
    "InvalidToken",
    "default_secret",
    "mint_token",
    "verify_token",
]

ALGORITHM = "HS256"
DEFAULT_TTL_SECONDS = 86_400
SECRET_ENV_VAR = "STB_JWT_SECRET"
# Development default so that `target --auth` and `token` agree out of the box on one machine.
# Only ever meant for loopback test targets: set STB_JWT_SECRET (or pass a secret) anywhere else.
DEV_SECRET = "streamtestbench-dev-secret-change-me"


class InvalidToken(ValueError):
    """The token is malformed, expired, or signed with another secret."""


def default_secret() -> str:
    """The secret from ``STB_JWT_SECRET``, else the documented development default."""
    return os.environ.get(SECRET_ENV_VAR) or DEV_SECRET


def mint_token(
    secret: str,
    claims: Mapping[str, Any],
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    *,
    now: float | None = None,
) -> str:
    """Sign ``claims`` with HS256, adding ``iat`` and ``exp`` (``now + ttl_seconds``)."""
    if ttl_seconds <= 0:
        raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
    issued = int(time.time() if now is None else now)
    payload = dict(claims)
    payload["iat"] = issued
    payload["exp"] = issued + int(ttl_seconds)
    return pyjwt.encode(payload, secret, algorithm=ALGORITHM)


def verify_token(token: str, secret: str) -> dict[str, Any]:
    """Return the claims of a valid HS256 token, or raise :class:`InvalidToken` saying why not."""
    if not token:
        raise InvalidToken("missing token")
    try:
        claims: dict[str, Any] = pyjwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat"]},
        )
    except pyjwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except pyjwt.InvalidSignatureError as exc:
        raise InvalidToken("bad token signature") from exc
    except pyjwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"token lacks a required claim: {exc.claim}") from exc
    except pyjwt.PyJWTError as exc:
        raise InvalidToken(f"malformed token: {exc}") from exc
    return claims
