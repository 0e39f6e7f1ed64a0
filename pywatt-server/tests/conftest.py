from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI, Request, Response as FastAPIResponse
from flask import Flask, Response as FlaskResponse, request
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse, Response as StarletteResponse
from starlette.routing import Route

from pywatt.core.serving import AppRunner
from pywatt.server import FlaskAdapter, StarletteAdapter, bind_listener, listener_address
from pywatt.server.testing import Gate


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


# The apps answer the conformance kit's routes (/text, /echo, /teapot, /boom, /slow; see
# pywatt.server.testing), plus /greet and /echo-query for the tests of pywatt's own runner.


def make_starlette_app(gate: Gate | None = None) -> Any:
    async def text(request: StarletteRequest) -> StarletteResponse:
        return PlainTextResponse("a page with a body", headers={"x-kit": "1"})

    async def echo(request: StarletteRequest) -> StarletteResponse:
        return StarletteResponse(
            await request.body(),
            media_type="application/octet-stream",
            headers={"x-echo": request.headers.get("x-echo", "")},
        )

    async def teapot(request: StarletteRequest) -> StarletteResponse:
        response = PlainTextResponse("short and stout", status_code=418)
        response.headers["x-custom"] = "yes"
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    async def boom(request: StarletteRequest) -> StarletteResponse:
        raise RuntimeError("kaboom")

    async def slow(request: StarletteRequest) -> StarletteResponse:
        assert gate is not None
        await gate.wait_async()
        return PlainTextResponse("done")

    return Starlette(
        routes=[
            Route("/text", text),  # a GET route answers HEAD too
            Route("/echo", echo, methods=["POST"]),
            Route("/teapot", teapot),
            Route("/boom", boom),
            Route("/slow", slow),
        ]
    )


def make_fastapi_app(gate: Gate | None = None) -> Any:
    Response = FastAPIResponse
    app = FastAPI(openapi_url=None)

    @app.get("/greet/{name}")
    async def greet(name: str) -> Response:
        return Response(_json({"greeting": f"hello {name}"}), media_type="application/json")

    @app.get("/echo-query")
    async def echo_query(request: Request) -> FastAPIResponse:
        pairs = sorted(list(p) for p in request.query_params.multi_items())
        return Response(_json({"query": pairs}), media_type="application/json")

    @app.api_route("/text", methods=["GET", "HEAD"])  # FastAPI's @app.get answers no HEAD
    async def text() -> Response:
        return Response(b"a page with a body", media_type="text/plain", headers={"x-kit": "1"})

    @app.post("/echo")
    async def echo(request: Request) -> FastAPIResponse:
        return Response(
            await request.body(),
            media_type="application/octet-stream",
            headers={"x-echo": request.headers.get("x-echo", "")},
        )

    @app.get("/teapot")
    async def teapot() -> Response:
        response = Response(b"short and stout", status_code=418, media_type="text/plain")
        response.headers["x-custom"] = "yes"
        response.set_cookie("a", "1")
        response.set_cookie("b", "2", expires="Wed, 21 Oct 2037 07:28:00 GMT")
        return response

    @app.get("/boom")
    async def boom() -> Response:
        raise RuntimeError("kaboom")

    @app.get("/slow")
    async def slow() -> Response:
        assert gate is not None
        await gate.wait_async()
        return Response(b"done", media_type="text/plain")

    return app


def make_flask_app(gate: Gate | None = None) -> Any:
    Response = FlaskResponse
    app = Flask("pywatt_server_test")

    @app.get("/greet/<name>")
    def greet(name: str) -> Response:
        return Response(_json({"greeting": f"hello {name}"}), mimetype="application/json")

    @app.get("/echo-query")
    def echo_query() -> Response:
        pairs = sorted(list(p) for p in request.args.items(multi=True))
        return Response(_json({"query": pairs}), mimetype="application/json")

    @app.get("/text")
    def text() -> Response:
        return Response(b"a page with a body", mimetype="text/plain", headers={"x-kit": "1"})

    @app.post("/echo")
    def echo() -> Response:
        return Response(
            request.get_data(),
            mimetype="application/octet-stream",
            headers={"x-echo": request.headers.get("x-echo", "")},
        )

    @app.get("/teapot")
    def teapot() -> Response:
        response = Response(b"short and stout", status=418, mimetype="text/plain")
        response.headers["x-custom"] = "yes"
        response.set_cookie("a", "1", path="/", samesite="lax")
        response.set_cookie(
            "b", "2", expires="Wed, 21 Oct 2037 07:28:00 GMT", path="/", samesite="lax"
        )
        return response

    @app.get("/boom")
    def boom() -> Response:
        raise RuntimeError("kaboom")

    @app.get("/slow")
    def slow() -> Response:
        assert gate is not None
        gate.wait()
        return Response(b"done", mimetype="text/plain")

    return app


FRAMEWORKS: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
    "fastapi": (make_fastapi_app, StarletteAdapter),
    "flask": (make_flask_app, FlaskAdapter),
}


@pytest.fixture(params=sorted(FRAMEWORKS))
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def runner(framework: str) -> AppRunner:
    make_app, make_adapter = FRAMEWORKS[framework]
    return make_adapter().wrap(make_app())  # type: ignore[no-any-return]


@asynccontextmanager
async def serving(
    runner: AppRunner, *, drain_timeout: float = 5.0, where: str = "127.0.0.1", port: int | None = 0
) -> AsyncIterator[tuple[str, anyio.Event]]:
    """Run ``runner.serve`` on a fresh listener; yields its address and the stop event."""
    sock = bind_listener(where, port)
    address = listener_address(sock)
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: runner.serve(sock, stop=stop, drain_timeout=drain_timeout))
        try:
            yield address, stop
        finally:
            stop.set()


def http_client(address: str) -> httpx.AsyncClient:
    if address.startswith("/"):
        transport = httpx.AsyncHTTPTransport(uds=address)
        return httpx.AsyncClient(transport=transport, base_url="http://pywatt")
    return httpx.AsyncClient(base_url=f"http://{address}")


@pytest.fixture
def serve_app() -> Callable[..., Any]:
    """``async with serve_app(runner) as (address, stop)``: the runner on a real socket."""
    return serving


@pytest.fixture
def client_for() -> Callable[[str], httpx.AsyncClient]:
    """An httpx client for a listener address (``host:port`` or a Unix socket path)."""
    return http_client


KIT_APPS: dict[str, Callable[[Gate | None], Any]] = {
    "starlette": make_starlette_app,
    "fastapi": make_fastapi_app,
    "flask": make_flask_app,
}


@pytest.fixture
def make_app() -> Callable[..., Any]:
    """``make_app(framework, gate=None)``: the shared test app of a framework."""
    return lambda name, gate=None: KIT_APPS[name](gate)
