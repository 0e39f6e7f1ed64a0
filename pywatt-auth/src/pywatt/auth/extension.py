"""Flask: ``JwtAuth(app, authenticator)`` and ``@jwt_required(scopes=...)``.

Views run in worker threads, so the authenticator's ``authenticate_sync`` is called; the
accepted claims land on ``flask.g.auth_claims``. The decorated view carries the
``__pywatt_auth__`` marker, so the module announces it with ``"auth":"jwt"``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pywatt.auth.authenticators import (
    Authenticator,
    Credentials,
    check_access,
    log_rejection,
    log_unavailable,
)
from pywatt.auth.errors import AuthConfigError, AuthUnavailableError, TokenRejected
from pywatt.auth.markers import mark_enforced

__all__ = ["JwtAuth", "jwt_required"]

F = TypeVar("F", bound=Callable[..., Any])
_EXTENSION = "pywatt_auth"


class JwtAuth:
    """The Flask extension: holds the authenticator the app's protected views use."""

    def __init__(self, app: Any = None, authenticator: Authenticator | None = None) -> None:
        self.authenticator = authenticator
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any, authenticator: Authenticator | None = None) -> None:
        if authenticator is not None:
            self.authenticator = authenticator
        if self.authenticator is None:
            raise AuthConfigError("JwtAuth needs an authenticator")
        app.extensions[_EXTENSION] = self


def _credentials() -> Credentials:
    from flask import request

    return Credentials(
        headers={k.lower(): v for k, v in request.headers.items()},
        cookies=dict(request.cookies),
    )


def _refusal(status: int, challenge: str | None) -> Any:
    from flask import Response

    response = Response(b"", status=status)
    if challenge is not None:
        response.headers["WWW-Authenticate"] = challenge
    return response


def jwt_required(
    func: F | None = None,
    *,
    scopes: Sequence[str] = (),
    roles: Sequence[str] = (),
    authenticator: Authenticator | None = None,
) -> Any:
    """Refuse the view unless the app's (or the given) authenticator accepts the request.

    Use bare (``@jwt_required``) or with arguments (``@jwt_required(scopes=["read"])``).
    """
    wanted_scopes, wanted_roles = tuple(scopes), tuple(roles)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from flask import current_app, g, request

            auth = authenticator
            if auth is None:
                ext = current_app.extensions.get(_EXTENSION)
                if ext is None:
                    raise AuthConfigError("@jwt_required needs JwtAuth(app, authenticator)")
                auth = ext.authenticator
            try:
                claims = auth.authenticate_sync(_credentials())
                check_access(claims, wanted_scopes, wanted_roles)
            except TokenRejected as exc:
                log_rejection(exc, request.method, request.path)
                return _refusal(exc.status, exc.www_authenticate())
            except AuthUnavailableError as exc:
                log_unavailable(exc, request.method, request.path)
                return _refusal(503, None)
            g.auth_claims = claims
            return view(*args, **kwargs)

        scheme = authenticator.scheme if authenticator is not None else "jwt"
        mark_enforced(wrapper, scheme)
        return wrapper  # type: ignore[return-value]

    if func is not None:
        return decorate(func)
    return decorate
