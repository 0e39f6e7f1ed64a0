"""pywatt-auth: JWT authentication for PyWatt modules (joserfc underneath)."""

from __future__ import annotations

from pywatt.auth.authenticators import (
    Authenticator,
    Claims,
    Credentials,
    JwtAuthenticator,
    build_authenticator,
    check_access,
    roles_of,
    scopes_of,
)
from pywatt.auth.delegated import ProxyAuthenticator
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
from pywatt.auth.verifier import ClaimsPolicy, JwtVerifier, keys_for

# The framework integrations (middleware, dependency, extension) import their framework, so
# they are imported from their own modules: pywatt.auth.middleware, .dependency, .extension.

__all__ = [
    "MAX_TOKEN_BYTES",
    "AlgorithmConfusionError",
    "AlgorithmNoneError",
    "AlgorithmNotAllowedError",
    "AuthConfigError",
    "AuthError",
    "AuthUnavailableError",
    "Authenticator",
    "BadSignatureError",
    "Claims",
    "ClaimsModelError",
    "ClaimsPolicy",
    "Credentials",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "InvalidAudienceError",
    "InvalidIssuerError",
    "JwksKeys",
    "JwtAuthenticator",
    "JwtSettings",
    "JwtVerifier",
    "KeyRing",
    "MalformedTokenError",
    "MissingClaimError",
    "MissingTokenError",
    "NotYetValidError",
    "ProxyAuthenticator",
    "SecretKeys",
    "StaticKeys",
    "TokenRejected",
    "TokenTooLargeError",
    "TokenTooOldError",
    "UnknownKeyError",
    "build_authenticator",
    "check_access",
    "keys_for",
    "load_keys",
    "roles_of",
    "scopes_of",
]
