"""Reading an app's routes, so a module's announce need not list them a second time.

Paths use ``{name}`` for parameters whatever the framework's syntax (Starlette's
``{id:int}`` and Flask's ``<int:id>`` both become ``{id}``). Methods are uppercase and
sorted, with ``HEAD`` left out where ``GET`` serves it. Routes that share a path and an auth
scheme are merged into one endpoint.

A route is announced with ``auth`` when its endpoint function carries the attribute named by
:data:`AUTH_ATTRIBUTE` (``__pywatt_auth__``): a string names the scheme, any other true value
means ``"jwt"``. :func:`requires_auth` sets it. A FastAPI route is also announced with
``auth`` when one of its dependencies carries that attribute, and a Starlette app's routes when
a guard in the app's :data:`AUTH_GUARDS_ATTRIBUTE` list (``(scheme, protects(path))`` pairs,
kept by pywatt-auth's ``protect``) covers their path.

``requires_auth`` only *claims* protection. Code that really refuses unauthenticated requests
(pywatt-auth's dependency and decorator) also sets :data:`ENFORCED_ATTRIBUTE`; with
``enforced_only=True`` discovery reports only those, and a module whose announce claims more
fails at startup (:meth:`pywatt.server.asgi.AsgiRunner.check_announced`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pywatt.core.serving import DiscoveredEndpoint

__all__ = [
    "AUTH_ATTRIBUTE",
    "AUTH_GUARDS_ATTRIBUTE",
    "ENFORCED_ATTRIBUTE",
    "flask_endpoints",
    "requires_auth",
    "starlette_endpoints",
]

AUTH_ATTRIBUTE = "__pywatt_auth__"
AUTH_GUARDS_ATTRIBUTE = "__pywatt_auth_guards__"
ENFORCED_ATTRIBUTE = "__pywatt_auth_enforced__"

#: What a route that accepts any method (a mounted or raw ASGI app) is announced with.
ANY_METHOD = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")

_STARLETTE_PARAM = re.compile(r"\{([^{}:]+):[^{}]*\}")
_FLASK_PARAM = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")

F = TypeVar("F", bound=Callable[..., Any])


def requires_auth(scheme: str = "jwt") -> Callable[[F], F]:
    """Mark an endpoint function so that discovery announces it with ``auth=scheme``."""

    def mark(func: F) -> F:
        setattr(func, AUTH_ATTRIBUTE, scheme)
        return func

    return mark


def auth_of(endpoint: object, enforced_only: bool = False) -> str | None:
    if enforced_only and not getattr(endpoint, ENFORCED_ATTRIBUTE, False):
        return None
    marker = getattr(endpoint, AUTH_ATTRIBUTE, None)
    if not marker:
        return None
    return marker if isinstance(marker, str) else "jwt"


def normalize_methods(methods: Iterable[str]) -> tuple[str, ...]:
    names = {m.upper() for m in methods}
    if "GET" in names:
        names.discard("HEAD")
    return tuple(sorted(names))


def merge(found: Iterable[tuple[str, Iterable[str], str | None]]) -> list[DiscoveredEndpoint]:
    """One endpoint per (path, auth), in first-seen order."""
    merged: dict[tuple[str, str | None], set[str]] = {}
    for path, methods, auth in found:
        merged.setdefault((path, auth), set()).update(m.upper() for m in methods)
    return [
        DiscoveredEndpoint(path, normalize_methods(methods), auth)
        for (path, auth), methods in merged.items()
        if methods
    ]


def starlette_endpoints(app: Any, *, enforced_only: bool = False) -> list[DiscoveredEndpoint]:
    """Routes of a Starlette or FastAPI app, following mounts and host routers."""
    found = _walk_starlette(getattr(app, "routes", []), "", enforced_only)
    guards = getattr(app, AUTH_GUARDS_ATTRIBUTE, None) or ()
    if guards:
        found = [(path, methods, auth or _guarded(guards, path)) for path, methods, auth in found]
    return merge(found)


def _guarded(guards: Iterable[tuple[str, Callable[[str], bool]]], path: str) -> str | None:
    return next((scheme for scheme, protects in guards if protects(path)), None)


def _dependency_auth(route: Any, enforced_only: bool) -> str | None:
    """The scheme a FastAPI route's dependencies (at any depth) are marked with."""
    stack = list(getattr(getattr(route, "dependant", None), "dependencies", ()))
    while stack:
        dependant = stack.pop()
        found = auth_of(getattr(dependant, "call", None), enforced_only)
        if found:
            return found
        stack.extend(getattr(dependant, "dependencies", ()))
    return None


def _walk_starlette(
    routes: Iterable[Any], prefix: str, enforced_only: bool
) -> Iterable[tuple[str, Iterable[str], str | None]]:
    from starlette.routing import Host, Mount, Route

    for route in routes:
        if isinstance(route, Route):
            path = prefix + _STARLETTE_PARAM.sub(r"{\1}", route.path)
            auth = auth_of(route.endpoint, enforced_only) or _dependency_auth(route, enforced_only)
            yield path, _route_methods(route), auth
        elif isinstance(route, Mount):
            mount_path = prefix + _STARLETTE_PARAM.sub(r"{\1}", route.path)
            children = route.routes
            if children:
                yield from _walk_starlette(children, mount_path, enforced_only)
            else:
                yield mount_path + "/{path}", _mounted_methods(route.app), None
        elif isinstance(route, Host):
            yield from _walk_starlette(route.routes, prefix, enforced_only)
        else:
            yield from _walk_fastapi_included(route, prefix, enforced_only)
        # WebSocket routes are not HTTP endpoints: HTTP-over-IPC cannot carry them.


def _walk_fastapi_included(
    route: Any, prefix: str, enforced_only: bool
) -> Iterable[tuple[str, Iterable[str], str | None]]:
    """Newer FastAPI keeps included routers as one lazy route; its public iterator opens it."""
    from starlette.routing import Route

    routing = sys.modules.get("fastapi.routing")
    iter_contexts = getattr(routing, "iter_route_contexts", None)
    if iter_contexts is None:
        return
    for context in iter_contexts([route]):
        if context is route or not isinstance(context.original_route, Route) or not context.path:
            continue
        path = prefix + _STARLETTE_PARAM.sub(r"{\1}", context.path)
        methods = context.methods or _route_methods(context.original_route)
        auth = auth_of(context.endpoint, enforced_only) or _dependency_auth(
            context.original_route, enforced_only
        )
        yield path, list(methods), auth


def _route_methods(route: Any) -> Iterable[str]:
    if route.methods:
        return list(route.methods)
    endpoint = route.endpoint
    if isinstance(endpoint, type):  # an HTTPEndpoint class answers the methods it defines
        return [m for m in (*ANY_METHOD, "HEAD") if hasattr(endpoint, m.lower())]
    return ANY_METHOD


def _mounted_methods(app: Any) -> Iterable[str]:
    from starlette.staticfiles import StaticFiles

    return ("GET",) if isinstance(app, StaticFiles) else ANY_METHOD


def flask_endpoints(app: Any, *, enforced_only: bool = False) -> list[DiscoveredEndpoint]:
    """Routes of a Flask app's ``url_map``, without ``static`` and the automatic methods."""
    found: list[tuple[str, Iterable[str], str | None]] = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = set(rule.methods or ())
        if getattr(rule, "provide_automatic_options", False):
            methods.discard("OPTIONS")
        view = app.view_functions.get(rule.endpoint)
        auth = auth_of(view, enforced_only)
        found.append((_FLASK_PARAM.sub(r"{\1}", rule.rule), methods, auth))
    return merge(found)
