"""pywatt-auth: JWT authentication for PyWatt modules (joserfc underneath)."""

from __future__ import annotations

from pywatt.auth.errors import (
    AlgorithmConfusionError,
    AlgorithmNoneError,
    AlgorithmNotAllowedError,
    AuthConfigError,
    AuthError,
    AuthUnavailableError,
    BadSignatureError,
    ClaimsModelError,
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidAudienceError,
    InvalidIssuerError,
    MalformedTokenError,
    MissingClaimError,
    MissingTokenError,
    NotYetValidError,
    TokenRejected,
    TokenTooLargeError,
    TokenTooOldError,
    UnknownKeyError,
)
from pywatt.auth.keys import JwksKeys, KeyRing, SecretKeys, StaticKeys, load_keys
from pywatt.auth.settings import MAX_TOKEN_BYTES, JwtSettings
from pywatt.auth.verifier import JwtVerifier, keys_for

__all__ = [
    "MAX_TOKEN_BYTES",
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
    "JwksKeys",
    "JwtSettings",
    "JwtVerifier",
    "KeyRing",
    "MalformedTokenError",
    "MissingClaimError",
    "MissingTokenError",
    "NotYetValidError",
    "SecretKeys",
    "StaticKeys",
    "TokenRejected",
    "TokenTooLargeError",
    "TokenTooOldError",
    "UnknownKeyError",
    "keys_for",
    "load_keys",
]
