"""A pure-ASGI middleware that protects a Starlette (or FastAPI) app by path pattern.

Use :func:`protect` to install it: besides adding the middleware it records which paths it
guards on the app, so that the module's announce says ``"auth":"jwt"`` for exactly those.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from typing import Any

from pywatt.auth.authenticators import (
    Authenticator,
    Credentials,
    check_access,
    log_rejection,
    log_unavailable,
)
from pywatt.auth.errors import AuthUnavailableError, TokenRejected
from pywatt.auth.markers import AUTH_GUARDS_ATTRIBUTE

__all__ = ["JwtMiddleware", "PathGuard", "credentials_from_scope", "protect"]

ALL_PATHS = ("*",)
Scope = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]


def credentials_from_scope(scope: Scope) -> Credentials:
    """Headers (lowercase, last one wins) and cookies of an ASGI HTTP scope."""
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        headers[name.decode("latin-1").lower()] = value.decode("latin-1")
    cookies: dict[str, str] = {}
    raw = headers.get("cookie")
    if raw:
        for part in raw.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name:
                cookies[name] = value
    return Credentials(headers=headers, cookies=cookies)


def _pattern(patterns: Iterable[str]) -> re.Pattern[str] | None:
    parts = [fnmatch.translate(p) for p in patterns]
    return re.compile("|".join(parts)) if parts else None


class PathGuard:
    """Which paths a middleware protects: ``paths`` globs minus ``exclude`` globs."""

    def __init__(self, paths: Sequence[str], exclude: Sequence[str] = ()) -> None:
        self._include = _pattern(paths)
        self._exclude = _pattern(exclude)

    def __call__(self, path: str) -> bool:
        if self._include is None or not self._include.match(path):
            return False
        return self._exclude is None or not self._exclude.match(path)


class JwtMiddleware:
    """Refuses requests to guarded paths unless the authenticator accepts them.

    Accepted claims are put on the scope's state: ``request.state.auth_claims``.

    :param app: the ASGI app to wrap.
    :param authenticator: an authenticator (built once, shared with other integrations).
    :param paths: glob patterns of protected paths (``/api/*``); by default every path.
    :param exclude: glob patterns left open even when ``paths`` matches (``/health``).
    :param scopes: scopes every request on these paths needs.
    :param roles: roles of which a request needs one.
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        *,
        paths: Sequence[str] = ALL_PATHS,
        exclude: Sequence[str] = (),
        scopes: Sequence[str] = (),
        roles: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.protects = PathGuard(paths, exclude)
        self.scopes = tuple(scopes)
        self.roles = tuple(roles)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or not self.protects(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "WEBSOCKET")
        try:
            claims = await self.authenticator.authenticate(credentials_from_scope(scope))
            check_access(claims, self.scopes, self.roles)
        except TokenRejected as exc:
            log_rejection(exc, method, scope.get("path", ""))
            await _refuse(scope, send, exc.status, exc.www_authenticate())
            return
        except AuthUnavailableError as exc:
            log_unavailable(exc, method, scope.get("path", ""))
            await _refuse(scope, send, 503, None)
            return
        scope.setdefault("state", {})["auth_claims"] = claims
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, send: Send, status: int, challenge: str | None) -> None:
    if scope["type"] == "websocket":
        # Closing before accepting makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    headers = [(b"content-length", b"0")]
    if challenge is not None:
        headers.append((b"www-authenticate", challenge.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def protect(app: Any, authenticator: Authenticator, **options: Any) -> None:
    """Add :class:`JwtMiddleware` to a Starlette/FastAPI app and record what it guards.

    :param options: :class:`JwtMiddleware`'s keyword arguments (``paths``, ``exclude``,
        ``scopes``, ``roles``).
    """
    app.add_middleware(JwtMiddleware, authenticator=authenticator, **options)
    guards = getattr(app, AUTH_GUARDS_ATTRIBUTE, None)
    if guards is None:
        guards = []
        setattr(app, AUTH_GUARDS_ATTRIBUTE, guards)
    guard = PathGuard(options.get("paths", ALL_PATHS), options.get("exclude", ()))
    guards.append((authenticator.scheme, guard))
