"""The Falcon adapter passes pywatt's server-adapter kit with a Falcon app of the kit's routes."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
import pytest
from pywatt_falcon import FalconAdapter

from pywatt.server.testing import AdapterConformance, AdapterTraits, Gate


class Text:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = "text/plain"
        resp.text = "a page with a body"
        resp.set_header("x-kit", "1")

    on_head = on_get


class Echo:
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.data = await req.stream.read()
        resp.content_type = "application/octet-stream"
        resp.set_header("x-echo", req.get_header("x-echo") or "")


class Teapot:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.status = 418
        resp.content_type = "text/plain"
        resp.text = "short and stout"
        resp.set_header("x-custom", "yes")
        resp.set_cookie("a", "1", secure=False)
        resp.set_cookie("b", "2", secure=False)


class Boom:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise RuntimeError("kaboom")


class Slow:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        await self.gate.wait_async()
        resp.content_type = "text/plain"
        resp.text = "done"


def make_app(gate: Gate) -> falcon.asgi.App[falcon.asgi.Request, falcon.asgi.Response]:
    app: falcon.asgi.App[falcon.asgi.Request, falcon.asgi.Response] = falcon.asgi.App()
    app.add_route("/text", Text())
    app.add_route("/echo", Echo())
    app.add_route("/teapot", Teapot())
    app.add_route("/boom", Boom())
    app.add_route("/slow", Slow(gate))
    return app


class TestFalconAdapter(AdapterConformance):
    @pytest.fixture
    def adapter(self) -> FalconAdapter:
        return FalconAdapter()

    @pytest.fixture
    def app(self, gate: Gate) -> Any:
        return make_app(gate)

    @pytest.fixture
    def adapter_traits(self) -> AdapterTraits:
        # Falcon answers an unhandled exception itself (and logs its traceback).
        return AdapterTraits(error_body=b'{"title": "500 Internal Server Error"}')
