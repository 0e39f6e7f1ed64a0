"""The framework adapters and the choice between them.

``starlette`` (alias ``fastapi``) serves Starlette and FastAPI apps, and any other ASGI
callable as a fallback; ``flask`` serves Flask (any WSGI app, when named) through ``a2wsgi``
under uvicorn. Frameworks are imported only when an
app of theirs is wrapped, or when one is already imported and an app is being matched.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from typing import TYPE_CHECKING, Any

from pywatt.core.errors import ServerError
from pywatt.core.serving import (
    EXACT_MATCH,
    GENERIC_MATCH,
    AppRunner,
    ServerAdapter,
    choose_adapter,
)
from pywatt.server.asgi import AsgiRunner
from pywatt.server.discovery import flask_endpoints, starlette_endpoints

if TYPE_CHECKING:
    from pywatt.core.plugins import Plugins

__all__ = ["FlaskAdapter", "FlaskRunner", "StarletteAdapter", "select_adapter"]


def _is_asgi_callable(app: object) -> bool:
    if inspect.iscoroutinefunction(app):
        return True
    if inspect.isfunction(app) or inspect.ismethod(app):
        return False
    for klass in type(app).__mro__:
        if "__call__" in klass.__dict__:
            return inspect.iscoroutinefunction(klass.__dict__["__call__"])
    return False


def _router_kind(app: object) -> str | None:
    """``"apirouter"``, ``"router"`` or ``"mount"`` for a route table that is not an app."""
    fastapi = sys.modules.get("fastapi.routing")
    if fastapi is not None and isinstance(app, fastapi.APIRouter):
        return "apirouter"
    routing = sys.modules.get("starlette.routing")
    if routing is not None and isinstance(app, routing.Router):
        return "router"
    if routing is not None and isinstance(app, routing.Mount):
        return "mount"
    return None


def _as_starlette_app(app: object) -> object:
    """Give a bare route table the app its framework would build around it.

    A FastAPI ``APIRouter`` served as it is has no FastAPI middleware stack (every request
    fails with ``fastapi_middleware_astack not found``); a Starlette ``Router`` or ``Mount``
    has no lifespan or exception middleware.
    """
    kind = _router_kind(app)
    if kind == "apirouter":
        from fastapi import FastAPI

        wrapped = FastAPI()
        wrapped.include_router(app)  # type: ignore[arg-type]
        return wrapped
    if kind is not None:
        from starlette.applications import Starlette

        routes: Any = list(app.routes) if kind == "router" else [app]  # type: ignore[attr-defined]
        return Starlette(routes=routes)
    return app


class StarletteAdapter:
    """Starlette, FastAPI, and plain ASGI 3 callables.

    A FastAPI ``APIRouter`` or a Starlette ``Router``/``Mount`` is served inside an app of its
    framework, as the framework would build it.
    """

    name = "starlette"

    def supports(self, app: object) -> int:
        starlette = sys.modules.get("starlette.applications")
        if starlette is not None and isinstance(app, starlette.Starlette):
            return EXACT_MATCH
        if _router_kind(app) is not None:
            return EXACT_MATCH
        # Any other ASGI callable too, but as a fallback: an adapter for its framework wins.
        return GENERIC_MATCH if _is_asgi_callable(app) else 0

    def wrap(self, app: object) -> AppRunner:
        app = _as_starlette_app(app)
        if not callable(app):
            raise ServerError(f"the starlette adapter needs an ASGI app, not {type(app).__name__}")
        if hasattr(app, "routes"):
            return AsgiRunner(
                app,
                discover=lambda: starlette_endpoints(app),
                enforced=lambda: starlette_endpoints(app, enforced_only=True),
            )
        return AsgiRunner(app)


class FlaskRunner(AsgiRunner):
    """A WSGI app wrapped once into ASGI; Flask's app-context teardown runs at shutdown."""

    def __init__(self, wsgi_app: Any, asgi_app: Any, *, is_flask: bool) -> None:
        discover = (lambda: flask_endpoints(wsgi_app)) if is_flask else None
        enforced = (lambda: flask_endpoints(wsgi_app, enforced_only=True)) if is_flask else None
        super().__init__(asgi_app, discover=discover, enforced=enforced)
        self.wsgi_app = wsgi_app
        self._is_flask = is_flask

    async def _teardown(self) -> None:
        if self._is_flask:
            # Pushing and popping one app context runs every teardown_appcontext function
            # (do_teardown_appcontext) once more, where extensions release pooled resources.
            await asyncio.to_thread(self._pop_app_context)
        executor = getattr(self.app, "executor", None)
        if executor is not None:
            executor.shutdown(wait=False)

    def _pop_app_context(self) -> None:
        ctx = self.wsgi_app.app_context()
        ctx.push()
        ctx.pop()


class _StderrErrors:
    """WSGI wrapper: a2wsgi points ``wsgi.errors`` at stdout, which is the protocol channel."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.errors"] = sys.stderr
        return self.app(environ, start_response)


class FlaskAdapter:
    """Flask (or any WSGI app) served through ``a2wsgi.WSGIMiddleware`` under uvicorn.

    Unless the app set ``PROPAGATE_EXCEPTIONS`` or registered a 500 handler, unhandled
    exceptions are let through to pywatt's error shield, so a Flask module fails with the same
    JSON 500 (and one logged traceback) as a Starlette one.
    """

    name = "flask"

    def __init__(self, workers: int = 10) -> None:
        self.workers = workers

    def supports(self, app: object) -> bool:
        flask = sys.modules.get("flask")
        return flask is not None and isinstance(app, (flask.Flask, flask.Blueprint))

    def wrap(self, app: object) -> AppRunner:
        flask = sys.modules.get("flask")
        if flask is not None and isinstance(app, flask.Blueprint):
            # A blueprint is served inside a Flask app named after it, as Flask would.
            blueprint = app
            host: Any = flask.Flask(blueprint.import_name)
            host.register_blueprint(blueprint)
            app = host
        if not callable(app) or _is_asgi_callable(app):
            raise ServerError(f"the flask adapter needs a WSGI app, not {type(app).__name__}")
        from a2wsgi import WSGIMiddleware

        is_flask = flask is not None and isinstance(app, flask.Flask)
        if is_flask:
            config: Any = app.config  # type: ignore[attr-defined]
            handlers: dict[Any, dict[Any, Any]] = app.error_handler_spec  # type: ignore[attr-defined]
            has_500 = any(500 in by_code for by_code in handlers.values())
            if config.get("PROPAGATE_EXCEPTIONS") is None and not has_500:
                config["PROPAGATE_EXCEPTIONS"] = True
        wsgi: Any = _StderrErrors(app)
        asgi_app = WSGIMiddleware(wsgi, workers=self.workers)
        return FlaskRunner(app, asgi_app, is_flask=is_flask)


def select_adapter(
    app: object, name: str | None = None, *, plugins: Plugins | None = None
) -> ServerAdapter:
    """The adapter named ``name``, or the installed one that matches ``app`` best.

    :param plugins: the plugins to choose from; the process-wide ones by default.
    """
    if plugins is None:
        from pywatt.core.plugins import get_plugins

        plugins = get_plugins()
    adapter: ServerAdapter = choose_adapter(plugins.server_adapters, app, name)
    return adapter
