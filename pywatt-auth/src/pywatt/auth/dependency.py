"""``Depends(require_jwt(...))``: FastAPI routes that need a token, with typed claims.

The dependency declares FastAPI's ``HTTPBearer`` (or a cookie key) so the route shows in
OpenAPI with a bearer security scheme, and it carries the ``__pywatt_auth__`` marker so the
module announces the route with ``"auth":"jwt"``. Importing it imports FastAPI, which the
annotations of the dependency need at module level.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, ValidationError

from pywatt.auth.authenticators import (
    Authenticator,
    check_access,
    log_rejection,
    log_unavailable,
)
from pywatt.auth.errors import AuthUnavailableError, ClaimsModelError, TokenRejected
from pywatt.auth.markers import mark_enforced
from pywatt.auth.middleware import credentials_from_scope

__all__ = ["require_jwt"]

M = TypeVar("M", bound=BaseModel)


def _security(authenticator: Authenticator) -> Any:
    from fastapi.security import APIKeyCookie, HTTPBearer

    settings = getattr(authenticator, "settings", None)
    if getattr(settings, "token_location", "header") == "cookie":
        return APIKeyCookie(name=settings.cookie_name, auto_error=False)  # type: ignore[union-attr]
    return HTTPBearer(auto_error=False, bearerFormat="JWT")


def require_jwt(
    authenticator: Authenticator,
    *,
    model: type[M] | None = None,
    scopes: Sequence[str] = (),
    roles: Sequence[str] = (),
) -> Callable[..., Any]:
    """A dependency returning the request's claims, as ``model`` when one is given.

    :param authenticator: the authenticator (shared with any middleware or Flask extension).
    :param model: a pydantic model the claims are validated into.
    :param scopes: scopes the token must all carry (``scope`` or ``scp`` claim).
    :param roles: roles of which the token must carry one (``roles`` claim).
    """
    security = _security(authenticator)
    wanted_scopes, wanted_roles = tuple(scopes), tuple(roles)

    async def dependency(request: Request, _credentials: Any = Depends(security)) -> Any:  # noqa: B008
        scope = request.scope
        try:
            claims = await authenticator.authenticate(credentials_from_scope(scope))
            check_access(claims, wanted_scopes, wanted_roles)
            result: Any = claims
            if model is not None:
                try:
                    result = model.model_validate(claims)
                except ValidationError:
                    raise ClaimsModelError(model.__name__) from None
        except TokenRejected as exc:
            log_rejection(exc, scope.get("method", ""), scope.get("path", ""))
            raise HTTPException(
                exc.status, headers={"WWW-Authenticate": exc.www_authenticate()}
            ) from None
        except AuthUnavailableError as exc:
            log_unavailable(exc, scope.get("method", ""), scope.get("path", ""))
            raise HTTPException(503) from None
        request.state.auth_claims = claims
        return result

    mark_enforced(dependency, authenticator.scheme)
    return dependency
