"""Why a token was refused: one typed error per RFC 8725 rejection, each with a stable reason.

The reason is the machine-readable word a log line and a test look for. It never reaches the
client: every rejection answers ``401`` with ``WWW-Authenticate: Bearer error="invalid_token"``
(RFC 6750 §3.1), so a caller cannot probe which check failed.
"""

from __future__ import annotations

from typing import ClassVar

from pywatt.core.errors import PyWattError

__all__ = [
    "AlgorithmConfusionError",
    "AlgorithmNoneError",
    "AlgorithmNotAllowedError",
    "AuthConfigError",
    "AuthError",
    "AuthUnavailableError",
    "BadSignatureError",
    "ClaimsModelError",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "InvalidAudienceError",
    "InvalidIssuerError",
    "MalformedTokenError",
    "MissingClaimError",
    "MissingTokenError",
    "NotYetValidError",
    "TokenRejected",
    "TokenTooLargeError",
    "TokenTooOldError",
    "UnknownKeyError",
]


class AuthError(PyWattError):
    """Base of every pywatt-auth error."""


class AuthConfigError(AuthError):
    """The settings or the keys cannot work (found at startup, never per request)."""


class AuthUnavailableError(AuthError):
    """The key source or the orchestrator could not be reached: the request is not judged."""

    reason: ClassVar[str] = "auth_unavailable"


class TokenRejected(AuthError):
    """A request's credentials were refused; ``reason`` is stable and safe to log."""

    reason: ClassVar[str] = "invalid_token"
    status: ClassVar[int] = 401
    #: The RFC 6750 error code for ``WWW-Authenticate`` (``None``: no code, as §3.1 asks
    #: when the request carried no credentials).
    bearer_error: ClassVar[str | None] = "invalid_token"

    def __init__(self, detail: str = "") -> None:
        super().__init__(f"{self.reason}: {detail}" if detail else self.reason)
        self.detail = detail

    def www_authenticate(self) -> str:
        if self.bearer_error is None:
            return "Bearer"
        return f'Bearer error="{self.bearer_error}"'


class MissingTokenError(TokenRejected):
    reason = "missing_token"
    bearer_error = None


class MalformedTokenError(TokenRejected):
    reason = "malformed"


class TokenTooLargeError(TokenRejected):
    reason = "token_too_large"


class AlgorithmNoneError(TokenRejected):
    reason = "alg_none"


class AlgorithmNotAllowedError(TokenRejected):
    reason = "alg_not_allowed"


class AlgorithmConfusionError(TokenRejected):
    """The token's ``alg`` needs another kind of key than the one it names (RFC 8725 §2.1)."""

    reason = "alg_confusion"


class UnknownKeyError(TokenRejected):
    reason = "unknown_kid"


class BadSignatureError(TokenRejected):
    reason = "bad_signature"


class ExpiredTokenError(TokenRejected):
    reason = "expired"


class NotYetValidError(TokenRejected):
    reason = "not_yet_valid"


class TokenTooOldError(TokenRejected):
    """``iat`` is further back than the settings' ``max_age``."""

    reason = "too_old"


class InvalidAudienceError(TokenRejected):
    reason = "invalid_audience"


class InvalidIssuerError(TokenRejected):
    reason = "invalid_issuer"


class MissingClaimError(TokenRejected):
    reason = "missing_claim"


class ClaimsModelError(TokenRejected):
    """The claims do not fit the pydantic model the endpoint asked for."""

    reason = "invalid_claims"


class InsufficientScopeError(TokenRejected):
    """A valid token without the scope or role the endpoint needs (RFC 6750 §3.1: 403)."""

    reason = "insufficient_scope"
    status = 403
    bearer_error = "insufficient_scope"
