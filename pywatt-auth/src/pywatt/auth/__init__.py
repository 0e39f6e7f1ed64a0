"""pywatt-auth: JWT authentication for PyWatt modules (joserfc underneath)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
    from pywatt.auth.authenticators import (
        Authenticator as Authenticator,
        Claims as Claims,
        Credentials as Credentials,
        JwtAuthenticator as JwtAuthenticator,
        build_authenticator as build_authenticator,
        check_access as check_access,
        roles_of as roles_of,
        scopes_of as scopes_of,
    )
    from pywatt.auth.delegated import ProxyAuthenticator as ProxyAuthenticator
    from pywatt.auth.errors import (
        AlgorithmConfusionError as AlgorithmConfusionError,
        AlgorithmNoneError as AlgorithmNoneError,
        AlgorithmNotAllowedError as AlgorithmNotAllowedError,
        AuthConfigError as AuthConfigError,
        AuthError as AuthError,
        AuthUnavailableError as AuthUnavailableError,
        BadSignatureError as BadSignatureError,
        ClaimsModelError as ClaimsModelError,
        ExpiredTokenError as ExpiredTokenError,
        InsufficientScopeError as InsufficientScopeError,
        InvalidAudienceError as InvalidAudienceError,
        InvalidIssuerError as InvalidIssuerError,
        MalformedTokenError as MalformedTokenError,
        MissingClaimError as MissingClaimError,
        MissingTokenError as MissingTokenError,
        NotYetValidError as NotYetValidError,
        TokenRejected as TokenRejected,
        TokenTooLargeError as TokenTooLargeError,
        TokenTooOldError as TokenTooOldError,
        UnknownKeyError as UnknownKeyError,
    )
    from pywatt.auth.keys import (
        JwksKeys as JwksKeys,
        KeyRing as KeyRing,
        SecretKeys as SecretKeys,
        StaticKeys as StaticKeys,
        load_keys as load_keys,
    )
    from pywatt.auth.settings import MAX_TOKEN_BYTES as MAX_TOKEN_BYTES, JwtSettings as JwtSettings
    from pywatt.auth.verifier import (
        ClaimsPolicy as ClaimsPolicy,
        JwtVerifier as JwtVerifier,
        keys_for as keys_for,
    )

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "pywatt.auth.authenticators": (
            "Authenticator build_authenticator check_access Claims Credentials JwtAuthenticator "
            "roles_of scopes_of"
        ),
        "pywatt.auth.delegated": "ProxyAuthenticator",
        "pywatt.auth.errors": (
            "AlgorithmConfusionError AlgorithmNoneError AlgorithmNotAllowedError AuthConfigError "
            "AuthError AuthUnavailableError BadSignatureError ClaimsModelError ExpiredTokenError "
            "InsufficientScopeError InvalidAudienceError InvalidIssuerError MalformedTokenError "
            "MissingClaimError MissingTokenError NotYetValidError TokenRejected TokenTooLargeError "
            "TokenTooOldError UnknownKeyError"
        ),
        "pywatt.auth.keys": "JwksKeys KeyRing load_keys SecretKeys StaticKeys",
        "pywatt.auth.settings": "JwtSettings MAX_TOKEN_BYTES",
        "pywatt.auth.verifier": "ClaimsPolicy JwtVerifier keys_for",
    },
)
