"""pywatt-auth: JWT authentication for PyWatt modules (joserfc underneath)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
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

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
_LAZY: dict[str, str] = {
    "Authenticator": "pywatt.auth.authenticators",
    "Claims": "pywatt.auth.authenticators",
    "Credentials": "pywatt.auth.authenticators",
    "JwtAuthenticator": "pywatt.auth.authenticators",
    "build_authenticator": "pywatt.auth.authenticators",
    "check_access": "pywatt.auth.authenticators",
    "roles_of": "pywatt.auth.authenticators",
    "scopes_of": "pywatt.auth.authenticators",
    "ProxyAuthenticator": "pywatt.auth.delegated",
    "AlgorithmConfusionError": "pywatt.auth.errors",
    "AlgorithmNoneError": "pywatt.auth.errors",
    "AlgorithmNotAllowedError": "pywatt.auth.errors",
    "AuthConfigError": "pywatt.auth.errors",
    "AuthError": "pywatt.auth.errors",
    "AuthUnavailableError": "pywatt.auth.errors",
    "BadSignatureError": "pywatt.auth.errors",
    "ClaimsModelError": "pywatt.auth.errors",
    "ExpiredTokenError": "pywatt.auth.errors",
    "InsufficientScopeError": "pywatt.auth.errors",
    "InvalidAudienceError": "pywatt.auth.errors",
    "InvalidIssuerError": "pywatt.auth.errors",
    "MalformedTokenError": "pywatt.auth.errors",
    "MissingClaimError": "pywatt.auth.errors",
    "MissingTokenError": "pywatt.auth.errors",
    "NotYetValidError": "pywatt.auth.errors",
    "TokenRejected": "pywatt.auth.errors",
    "TokenTooLargeError": "pywatt.auth.errors",
    "TokenTooOldError": "pywatt.auth.errors",
    "UnknownKeyError": "pywatt.auth.errors",
    "JwksKeys": "pywatt.auth.keys",
    "KeyRing": "pywatt.auth.keys",
    "SecretKeys": "pywatt.auth.keys",
    "StaticKeys": "pywatt.auth.keys",
    "load_keys": "pywatt.auth.keys",
    "MAX_TOKEN_BYTES": "pywatt.auth.settings",
    "JwtSettings": "pywatt.auth.settings",
    "ClaimsPolicy": "pywatt.auth.verifier",
    "JwtVerifier": "pywatt.auth.verifier",
    "keys_for": "pywatt.auth.verifier",
}

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
