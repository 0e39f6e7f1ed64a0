from __future__ import annotations

import contextlib

import anyio
import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pywatt.core.errors import ServerError
from pywatt.core.serving import HttpExchangeRequest
from pywatt.server import AsgiRunner, FlaskAdapter, StarletteAdapter

pytestmark = pytest.mark.anyio

GET_STATE = HttpExchangeRequest("GET", "/state", {}, b"")


def _counting_app(events: list[str]) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app):
        events.append("startup")
        yield {"greeting": "from lifespan"}
        events.append("shutdown")

    async def state(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.state.greeting)

    return Starlette(routes=[Route("/state", state)], lifespan=lifespan)


async def test_startup_and_shutdown_run_once_for_both_paths(serve_app, client_for):
    events: list[str] = []
    runner = StarletteAdapter().wrap(_counting_app(events))
    await runner.startup()
    await runner.startup()
    assert events == ["startup"]
    ipc = await runner.handle(GET_STATE)
    async with serve_app(runner) as (address, _stop), client_for(address) as client:
        wire = await client.get("/state")
    assert events == ["startup"]
    await runner.shutdown()
    await runner.shutdown()
    assert events == ["startup", "shutdown"]
    assert ipc.body == wire.content == b"from lifespan"


async def test_a_failed_startup_is_a_server_error():
    @contextlib.asynccontextmanager
    async def lifespan(app):
        raise RuntimeError("database unreachable")
        yield

    runner = StarletteAdapter().wrap(Starlette(lifespan=lifespan))
    with pytest.raises(ServerError, match=r"startup failed: RuntimeError: database unreachable$"):
        await runner.startup()


async def test_a_failed_shutdown_is_a_server_error():
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        raise RuntimeError("flush failed")

    runner = StarletteAdapter().wrap(Starlette(lifespan=lifespan))
    await runner.startup()
    with pytest.raises(ServerError, match=r"shutdown failed: RuntimeError: flush failed$"):
        await runner.shutdown()


async def test_apps_without_lifespan_support_still_serve():
    calls: list[str] = []

    async def http_only(scope, receive, send):
        calls.append(scope["type"])
        if scope["type"] != "http":
            raise ValueError(f"unsupported scope {scope['type']}")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    runner = AsgiRunner(http_only)
    await runner.startup()
    response = await runner.handle(GET_STATE)
    await runner.shutdown()
    assert response.body == b"ok"
    assert calls == ["lifespan", "http"]


async def test_flask_teardown_runs_at_shutdown():
    app = Flask("teardown_test")
    torn: list[object] = []
    app.teardown_appcontext(torn.append)

    @app.get("/state")
    def state() -> str:
        return "flask"

    runner = FlaskAdapter().wrap(app)
    await runner.startup()
    assert (await runner.handle(GET_STATE)).body == b"flask"
    per_request = len(torn)
    await runner.shutdown()
    assert len(torn) == per_request + 1


async def test_flask_wsgi_errors_go_to_stderr_not_stdout(capfd):
    app = Flask("errors_stream")

    @app.get("/state")
    def state() -> str:
        from flask import request

        request.environ["wsgi.errors"].write("diagnostic line\n")
        request.environ["wsgi.errors"].flush()
        return "ok"

    runner = FlaskAdapter().wrap(app)
    assert (await runner.handle(GET_STATE)).status == 200
    out, err = capfd.readouterr()
    assert "diagnostic line" in err
    assert "diagnostic line" not in out


async def test_serving_writes_nothing_to_stdout(serve_app, client_for, capfd):
    runner = StarletteAdapter().wrap(_counting_app([]))
    await runner.startup()
    async with serve_app(runner) as (address, _stop), client_for(address) as client:
        assert (await client.get("/state")).status_code == 200
        assert (await client.get("/missing")).status_code == 404
    await runner.shutdown()
    assert capfd.readouterr().out == ""


async def test_serve_rejects_a_negative_drain_timeout():
    from pywatt.server import bind_listener

    sock = bind_listener("127.0.0.1", 0)
    with pytest.raises(ServerError, match="drain_timeout"):
        await AsgiRunner(_counting_app([])).serve(sock, stop=anyio.Event(), drain_timeout=-1)
    sock.close()
