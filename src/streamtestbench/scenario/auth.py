"""Seed 000's ``authentication`` block plus seed 004's login step."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, model_validator

from .base import ScenarioModel
from .enums import AuthType

# The credential keys each auth type needs, so a missing one is named before the run.
REQUIRED_CREDENTIALS: dict[AuthType, tuple[str, ...]] = {
    AuthType.BEARER_TOKEN: ("token",),
    AuthType.BASIC_AUTH: ("username", "password"),
    AuthType.API_KEY: ("key",),
    AuthType.JWT: ("secret",),
    AuthType.NONE: (),
}


class LoginStep(ScenarioModel):
    """Post credentials once per virtual user, capture the token and reuse it (seed 004)."""

    url: str = Field(min_length=1)
    method: Literal["POST", "PUT", "GET"] = "POST"
    json_body: dict[str, Any] = Field(default_factory=dict, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    token_path: str = Field(default="tokens.accessToken", min_length=1)
    relogin_on_401: bool = Field(default=True, alias="reloginOn401")


class Authentication(ScenarioModel):
    type: AuthType = AuthType.NONE
    credentials: dict[str, Any] = Field(default_factory=dict)
    login: LoginStep | None = None

    @model_validator(mode="after")
    def _credentials_complete(self) -> Self:
        if self.login is not None:
            if self.type not in (AuthType.BEARER_TOKEN, AuthType.NONE):
                raise ValueError("a login step supplies a bearer token: use type BEARER_TOKEN with it")
            return self
        missing = [key for key in REQUIRED_CREDENTIALS[self.type] if key not in self.credentials]
        if missing:
            raise ValueError(
                f"{self.type.value} needs credentials.{', credentials.'.join(missing)}"
            )
        if self.type is AuthType.API_KEY:
            where = self.credentials.get("in", "header")
            if where not in ("header", "query"):
                raise ValueError("API_KEY credentials.in must be 'header' or 'query'")
        return self
