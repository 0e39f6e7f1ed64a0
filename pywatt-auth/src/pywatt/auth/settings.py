"""``JwtSettings``: the verification policy, set by the module and never read from a token."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MAX_TOKEN_BYTES", "Algorithm", "JwtSettings"]

#: Longer tokens are refused before any decoding (a cheap bound on work per request).
MAX_TOKEN_BYTES = 8 * 1024

Algorithm = Literal[
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "ES256",
    "ES384",
    "EdDSA",
    "Ed25519",
]


class JwtSettings(BaseModel):
    """How tokens are checked and where their keys come from.

    Exactly one key source is used: ``key`` (a PEM, a JWK, a JWKS document or an HMAC
    secret), ``secret`` (the name of a module secret holding one of those, followed through
    rotation), ``jwks_url``, ``oidc_issuer`` (its discovery document names the JWKS), or
    ``source="orchestrator"`` (the orchestrator's Jwt service checks the token, §7.3).

    - ``algorithms``: the only algorithms accepted; required, never taken from the token.
    - ``issuer``: the ``iss`` a token must carry.
    - ``audience``: the ``aud`` a token must carry (one of them, when a list).
    - ``required_claims``: claims a token must carry, beyond those the other checks need.
    - ``leeway``: seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
    - ``max_age``: seconds after ``iat`` past which a token is refused (needs ``iat``).
    - ``token_location``: ``header`` (``Authorization: Bearer``) or ``cookie``.
    - ``cookie_name``: the cookie that carries the token when ``token_location="cookie"``.
    - ``rotation_overlap``: seconds an old key still verifies after its secret rotates.
    - ``jwks_cache_seconds``: how long a fetched JWKS is trusted before it is fetched again.
    - ``jwks_min_refresh_seconds``: an unknown ``kid`` refetches at most this often.
    - ``max_token_bytes``: longer tokens are refused unread (at most 8 KiB).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    algorithms: list[Algorithm] = Field(min_length=1)
    issuer: str | None = None
    audience: str | list[str] | None = None
    required_claims: list[str] = Field(default_factory=list)
    leeway: float = Field(default=0.0, ge=0)
    max_age: float | None = Field(default=None, gt=0)
    token_location: Literal["header", "cookie"] = "header"
    cookie_name: str = "access_token"
    source: Literal["local", "orchestrator"] = "local"
    key: str | None = Field(default=None, repr=False)
    secret: str | None = None
    jwks_url: str | None = None
    oidc_issuer: str | None = None
    rotation_overlap: float = Field(default=300.0, ge=0)
    jwks_cache_seconds: float = Field(default=300.0, ge=0)
    jwks_min_refresh_seconds: float = Field(default=10.0, ge=0)
    max_token_bytes: int = Field(default=MAX_TOKEN_BYTES, gt=0, le=MAX_TOKEN_BYTES)

    @model_validator(mode="after")
    def _one_key_source(self) -> JwtSettings:
        sources = [
            name
            for name in ("key", "secret", "jwks_url", "oidc_issuer")
            if getattr(self, name) is not None
        ]
        if self.source == "orchestrator":
            if sources:
                raise ValueError(
                    f"source='orchestrator' checks tokens in the orchestrator; drop {sources[0]!r}"
                )
        elif len(sources) != 1:
            found = ", ".join(sources) or "none"
            raise ValueError(
                f"name exactly one key source (key, secret, jwks_url, oidc_issuer); found {found}"
            )
        return self

    @property
    def audiences(self) -> frozenset[str]:
        if self.audience is None:
            return frozenset()
        return frozenset([self.audience] if isinstance(self.audience, str) else self.audience)
