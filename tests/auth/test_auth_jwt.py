"""JWT minting and verification (auth/jwt.py): round trip, and each way a token can be refused."""

from __future__ import annotations

import base64
import json
import time

import pytest

from streamtestbench.auth.jwt import (
    DEV_SECRET,
    SECRET_ENV_VAR,
    InvalidToken,
    default_secret,
    mint_token,
    verify_token,
)

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"


def test_round_trip_keeps_claims_and_sets_iat_exp() -> None:
    token = mint_token(SECRET, {"sub": "loadtest", "role": "tester"}, ttl_seconds=600)
    claims = verify_token(token, SECRET)
    assert claims["sub"] == "loadtest"
    assert claims["role"] == "tester"
    assert claims["exp"] - claims["iat"] == 600
    assert abs(claims["iat"] - time.time()) < 5


def test_default_ttl_is_24_hours() -> None:
    claims = verify_token(mint_token(SECRET, {"sub": "x"}), SECRET)
    assert claims["exp"] - claims["iat"] == 86_400


def test_bad_signature_is_refused() -> None:
    token = mint_token(SECRET, {"sub": "x"})
    with pytest.raises(InvalidToken, match="signature"):
        verify_token(token, SECRET + "-other")


def test_expired_token_is_refused() -> None:
    token = mint_token(SECRET, {"sub": "x"}, ttl_seconds=10, now=time.time() - 3600)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(token, SECRET)


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30"])
def test_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken, match="malformed"):
        verify_token(token, SECRET)


def test_missing_token_is_refused() -> None:
    with pytest.raises(InvalidToken, match="missing"):
        verify_token("", SECRET)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_unsigned_alg_none_token_is_refused() -> None:
    now = int(time.time())
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'x', 'iat': now, 'exp': now + 60})}."
    with pytest.raises(InvalidToken):
        verify_token(token, SECRET)


def test_token_without_exp_is_refused() -> None:
    import jwt as pyjwt

    token = pyjwt.encode({"sub": "x", "iat": int(time.time())}, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken, match="exp"):
        verify_token(token, SECRET)


def test_invalid_token_is_a_value_error() -> None:
    assert issubclass(InvalidToken, ValueError)


def test_non_positive_ttl_is_rejected() -> None:
    with pytest.raises(ValueError, match="ttl"):
        mint_token(SECRET, {}, ttl_seconds=0)


def test_default_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV_VAR, "from-env")
    assert default_secret() == "from-env"
    monkeypatch.delenv(SECRET_ENV_VAR)
    assert default_secret() == DEV_SECRET
