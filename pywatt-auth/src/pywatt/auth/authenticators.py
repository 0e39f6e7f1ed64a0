"""The authenticator contract, the ``jwt`` authenticator, and the access checks all share.

Framework integrations never verify anything themselves: they hand the request's
:class:`Credentials` to an :class:`Authenticator` found by name in the plugin registry
(``pywatt_register_authenticators``), so a third-party scheme (API keys, say) plugs in exactly
as ``jwt`` and ``proxy`` do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from pywatt.auth.errors import (
    AuthConfigError,
    AuthUnavailableError,
    InsufficientScopeError,
    MalformedTokenError,
    MissingTokenError,
    TokenRejected,
    TokenTooLargeError,
)
from pywatt.auth.settings import JwtSettings

if TYPE_CHECKING:
    from pywatt.auth.keys import Clock, KeyRing
    from pywatt.auth.verifier import JwtVerifier

__all__ = [
    "Authenticator",
    "Claims",
    "Credentials",
    "JwtAuthenticator",
    "build_authenticator",
    "check_access",
    "log_rejection",
    "log_unavailable",
    "roles_of",
    "scopes_of",
]

logger = logging.getLogger("pywatt.auth")

Claims = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Credentials:
    """What an authenticator may look at: header names lowercase, cookies by name."""

    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def bearer(cls, token: str) -> Credentials:
        return cls(headers={"authorization": f"Bearer {token}"})


@runtime_checkable
class Authenticator(Protocol):
    """Turns a request's credentials into claims, or raises a ``TokenRejected`` subclass.

    ``scheme`` is what endpoints it protects are announced with (``"auth"``, §2.2.2).
    ``authenticate`` runs in the module's event loop; ``authenticate_sync`` in a worker
    thread (Flask views), and must give the same answer.
    """

    scheme: str

    async def authenticate(self, credentials: Credentials) -> Claims: ...

    def authenticate_sync(self, credentials: Credentials) -> Claims: ...


def bearer_token(credentials: Credentials, settings: JwtSettings) -> str:
    """The token where the settings say it is; RFC 6750 §2.1 for the header form."""
    if settings.token_location == "cookie":
        token = credentials.cookies.get(settings.cookie_name)
        if not token:
            raise MissingTokenError()
    else:
        value = credentials.headers.get("authorization")
        if value is None:
            raise MissingTokenError()
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer":
            raise MissingTokenError("not a Bearer authorization")
        token = token.strip(" ")
        if not token or " " in token:
            raise MalformedTokenError("empty or spaced bearer token")
    if len(token) > settings.max_token_bytes:
        raise TokenTooLargeError(f"longer than {settings.max_token_bytes} bytes")
    return token


class JwtAuthenticator:
    """Checks JWTs locally with a :class:`~pywatt.auth.verifier.JwtVerifier`.

    :param settings: the policy (a :class:`JwtSettings` or its fields as a mapping).
    :param keys: a key ring instead of the one the settings name (tests, custom sources).
    :param clock: seconds since the epoch, for tests that pin time.
    """

    scheme = "jwt"

    def __init__(
        self,
        settings: JwtSettings | Mapping[str, Any],
        *,
        keys: KeyRing | None = None,
        clock: Clock | None = None,
    ) -> None:
        from pywatt.auth.verifier import JwtVerifier

        self.settings = _settings(settings)
        if self.settings.source == "orchestrator":
            raise AuthConfigError("source='orchestrator' is the 'proxy' authenticator's job")
        kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
        self.verifier: JwtVerifier = JwtVerifier(self.settings, keys, **kwargs)
        # Keys from a module secret load in the module's loop, even for a Flask worker thread.
        self._loop = _running_loop()

    async def authenticate(self, credentials: Credentials) -> Claims:
        return await self.verifier.averify(bearer_token(credentials, self.settings))

    def authenticate_sync(self, credentials: Credentials) -> Claims:
        token = bearer_token(credentials, self.settings)
        if not self.verifier.keys.loaded:
            run_coroutine(self.verifier.keys.ensure(), self._loop)
        return self.verifier.verify(token)


def _settings(settings: JwtSettings | Mapping[str, Any]) -> JwtSettings:
    if isinstance(settings, JwtSettings):
        return settings
    return JwtSettings.model_validate(dict(settings))


def build_authenticator(name: str = "jwt", *args: Any, **kwargs: Any) -> Authenticator:
    """The authenticator registered as ``name``, built with the given arguments.

    ``build_authenticator("jwt", settings)`` uses the settings' ``source``: under an
    orchestrator with ``source="orchestrator"`` it builds ``proxy`` instead.
    """
    from pywatt.core.plugins import get_plugins

    registry = get_plugins().authenticators
    settings = args[0] if args else kwargs.get("settings")
    if name == "jwt" and settings is not None and _settings(settings).source == "orchestrator":
        name = "proxy"
    factory = registry.get(name)
    authenticator = factory(*args, **kwargs)
    if not isinstance(authenticator, Authenticator):
        raise AuthConfigError(
            f"authenticator {name!r} from plugin {registry.owner(name)!r} built a "
            f"{type(authenticator).__name__}, which lacks scheme/authenticate/authenticate_sync"
        )
    return authenticator


# -- access checks ------------------------------------------------------------------------


def _words(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(value.split())
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


def scopes_of(claims: Mapping[str, Any]) -> set[str]:
    """``scope`` (RFC 8693, space-separated) or ``scp`` (a list, as some issuers send)."""
    return _words(claims.get("scope")) | _words(claims.get("scp"))


def roles_of(claims: Mapping[str, Any]) -> set[str]:
    return _words(claims.get("roles")) | _words(claims.get("role"))


def check_access(claims: Mapping[str, Any], scopes: Iterable[str], roles: Iterable[str]) -> None:
    """Every scope in ``scopes`` and at least one of ``roles`` (when any are named)."""
    missing = set(scopes) - scopes_of(claims)
    if missing:
        raise InsufficientScopeError(f"missing scope {sorted(missing)}")
    wanted = set(roles)
    if wanted and not wanted & roles_of(claims):
        raise InsufficientScopeError("no accepted role")


def log_rejection(exc: TokenRejected, method: str, path: str) -> None:
    """One line per refusal: the reason, never the token (details hold no token text)."""
    logger.warning(
        "request refused: %s",
        exc.reason,
        extra={"reason": exc.reason, "method": method, "path": path, "status": exc.status},
    )


def log_unavailable(exc: AuthUnavailableError, method: str, path: str) -> None:
    """The key source or the orchestrator is away: an operator problem, not a refusal."""
    logger.error(
        "cannot authenticate: %s",
        exc,
        extra={"reason": exc.reason, "method": method, "path": path, "status": 503},
    )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def run_coroutine(coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop | None) -> T:
    """Run ``coro`` from a worker thread on the module's loop (or a private one)."""
    if loop is not None and loop.is_running():
        return asyncio.run_coroutine_threadsafe(coro, loop).result()
    return asyncio.run(coro)
