from __future__ import annotations

import types

import pytest
from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette

from pywatt.core import hookimpl
from pywatt.core.errors import ServerError, UnknownComponentError
from pywatt.core.plugins import build_plugins
from pywatt.core.serving import AppRunner, HttpExchangeRequest, ServerAdapter
from pywatt.server import AsgiRunner, FlaskAdapter, StarletteAdapter, select_adapter

ONLY_SERVER = {"PYWATT_LOAD_PLUGINS": "server"}


async def raw_asgi(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"raw"})


class CallableAsgi:
    async def __call__(self, scope, receive, send):
        await raw_asgi(scope, receive, send)


def wsgi_app(environ, start_response):
    start_response("200 OK", [("content-type", "text/plain")])
    return [b"wsgi"]


def test_the_server_plugin_registers_its_adapters():
    plugins = build_plugins(env=ONLY_SERVER)
    assert plugins.server_adapters.names() == ["fastapi", "flask", "starlette"]
    assert plugins.server_adapters.owner("flask") == "server"
    for _, adapter in plugins.server_adapters.items():
        assert isinstance(adapter, ServerAdapter)


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        (Starlette(), "starlette"),
        (FastAPI(), "starlette"),
        (raw_asgi, "starlette"),
        (CallableAsgi(), "starlette"),
        (Flask("pick"), "flask"),
    ],
)
def test_adapters_are_chosen_by_what_they_support(app, expected):
    adapter = select_adapter(app, plugins=build_plugins(env=ONLY_SERVER))
    assert adapter.name == expected
    assert isinstance(adapter.wrap(app), AppRunner)


def test_adapters_are_chosen_by_name():
    plugins = build_plugins(env=ONLY_SERVER)
    assert isinstance(select_adapter(wsgi_app, "flask", plugins=plugins), FlaskAdapter)
    assert isinstance(select_adapter(raw_asgi, "starlette", plugins=plugins), StarletteAdapter)


def test_an_unknown_name_lists_the_installed_adapters():
    with pytest.raises(UnknownComponentError, match=r"no server adapter 'aiohttp'; installed: "):
        select_adapter(raw_asgi, "aiohttp", plugins=build_plugins(env=ONLY_SERVER))


def test_an_unsupported_app_names_its_type_and_the_adapters():
    with pytest.raises(ServerError) as info:
        select_adapter(wsgi_app, plugins=build_plugins(env=ONLY_SERVER))
    # No install hint: pywatt ships no adapter for a bare function.
    assert str(info.value) == (
        "no server adapter serves builtins.function; installed adapters: fastapi, flask, starlette"
    )


def test_a_missing_shipped_adapter_is_named_with_its_extra():
    from pywatt.core.plugins import build_plugins as build

    with pytest.raises(ServerError, match=r"Install pywatt-server\[flask\] to serve it"):
        select_adapter(Flask("no-adapter"), plugins=build(entry_points=[], env={}))


def test_fastapi_is_an_alias_of_the_starlette_adapter():
    plugins = build_plugins(env=ONLY_SERVER)
    assert isinstance(select_adapter(FastAPI(), "fastapi", plugins=plugins), StarletteAdapter)


def test_a_third_party_asgi_framework_adapter_wins_over_the_generic_one():
    from pywatt.core import hookimpl

    class OtherFramework:
        """An ASGI framework that is not Starlette."""

        async def __call__(self, scope, receive, send):  # only chosen here, never served
            return None

    class OtherAdapter:
        name = "aaa-other"  # sorts first, and also a name that would lose a tie on purpose

        def supports(self, app):
            return isinstance(app, OtherFramework)

        def wrap(self, app):
            return AsgiRunner(app)

    class Plugin:
        @hookimpl
        def pywatt_register_server_adapters(self, register):
            register("zzz-other", OtherAdapter())

    plugins = build_plugins(env=ONLY_SERVER, extra=[("other", Plugin())])
    assert isinstance(select_adapter(OtherFramework(), plugins=plugins), OtherAdapter)
    # A Starlette app still goes to the Starlette adapter, a bare ASGI callable too.
    assert isinstance(select_adapter(Starlette(), plugins=plugins), StarletteAdapter)
    assert isinstance(select_adapter(raw_asgi, plugins=plugins), StarletteAdapter)


def test_the_process_wide_plugins_are_the_default(monkeypatch):
    from pywatt.core import plugins as core_plugins

    monkeypatch.setenv("PYWATT_LOAD_PLUGINS", "server")
    core_plugins.reset_plugins()
    try:
        assert select_adapter(Flask("default")).name == "flask"
    finally:
        core_plugins.reset_plugins()


class Quart:
    """Stands in for a framework pywatt does not ship an adapter for."""

    def __init__(self, body: bytes) -> None:
        self.body = body


class QuartAdapter:
    name = "quart"

    def supports(self, app: object) -> bool:
        return isinstance(app, Quart)

    def wrap(self, app: object) -> AppRunner:
        assert isinstance(app, Quart)
        body = app.body

        async def asgi(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})

        return AsgiRunner(asgi)


@pytest.mark.anyio
async def test_a_third_party_adapter_plugs_in_the_same_way():
    plugin = types.SimpleNamespace()

    @hookimpl
    def pywatt_register_server_adapters(register):
        register("quart", QuartAdapter())

    plugin.pywatt_register_server_adapters = pywatt_register_server_adapters
    plugins = build_plugins(entry_points=[], extra=[("acme", plugin)], env={})
    adapter = select_adapter(Quart(b"third party"), plugins=plugins)
    assert adapter.name == "quart"
    assert plugins.server_adapters.owner("quart") == "acme"
    runner = adapter.wrap(Quart(b"third party"))
    response = await runner.handle(HttpExchangeRequest("GET", "/", {}, b""))
    assert response.body == b"third party"


@pytest.mark.parametrize(
    ("adapter", "app", "message"),
    [
        (StarletteAdapter(), 42, "needs an ASGI app, not int"),
        (FlaskAdapter(), raw_asgi, "needs a WSGI app, not function"),
        (FlaskAdapter(), "app", "needs a WSGI app, not str"),
    ],
)
def test_wrapping_the_wrong_kind_of_app_is_a_server_error(adapter, app, message):
    with pytest.raises(ServerError, match=message):
        adapter.wrap(app)


@pytest.mark.anyio
async def test_a_plain_wsgi_app_is_served_by_the_flask_adapter():
    runner = FlaskAdapter().wrap(wsgi_app)
    response = await runner.handle(HttpExchangeRequest("GET", "/", {}, b""))
    await runner.shutdown()
    assert (response.status, response.body) == (200, b"wsgi")
    assert runner.endpoints() == []


def test_flask_exceptions_propagate_only_when_the_app_left_it_open():
    untouched = Flask("untouched")
    FlaskAdapter().wrap(untouched)
    assert untouched.config["PROPAGATE_EXCEPTIONS"] is True

    own_handler = Flask("own_handler")
    own_handler.register_error_handler(500, lambda e: ("mine", 500))
    FlaskAdapter().wrap(own_handler)
    assert own_handler.config["PROPAGATE_EXCEPTIONS"] is None

    chosen = Flask("chosen")
    chosen.config["PROPAGATE_EXCEPTIONS"] = False
    FlaskAdapter().wrap(chosen)
    assert chosen.config["PROPAGATE_EXCEPTIONS"] is False


@pytest.mark.anyio
async def test_an_apps_own_error_handler_answers_and_passes_through():
    from fastapi.responses import JSONResponse

    fastapi_app = FastAPI()

    @fastapi_app.exception_handler(Exception)
    async def custom(request, exc):
        return JSONResponse({"error": type(exc).__name__}, 500, {"x-handled-by": "custom"})

    @fastapi_app.get("/handled")
    async def handled():
        raise ValueError("the custom handler answers this")

    flask_app = Flask("own_handler")

    class Handled(Exception):
        pass

    @flask_app.errorhandler(Handled)
    def flask_custom(exc):
        return {"error": "Handled"}, 500, {"x-handled-by": "custom"}

    @flask_app.get("/handled")
    def flask_handled():
        raise Handled

    for adapter, app in [(StarletteAdapter(), fastapi_app), (FlaskAdapter(), flask_app)]:
        runner = adapter.wrap(app)
        await runner.startup()
        response = await runner.handle(HttpExchangeRequest("GET", "/handled", {}, b""))
        await runner.shutdown()
        assert (response.status, response.headers["x-handled-by"]) == (500, "custom")
        assert response.body.replace(b" ", b"").strip() in (
            b'{"error":"ValueError"}',
            b'{"error":"Handled"}',
        )
