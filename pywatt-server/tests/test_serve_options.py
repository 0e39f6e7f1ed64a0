"""ServeOptions: bind a given port, negotiate one (§7.1), or serve over IPC only; bind first.

These drive a real Starlette app through the module runtime in-process, with the scripted
orchestrator playing exact protocol lines; sockets are real.
"""

from __future__ import annotations

import importlib.metadata as md
import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pywatt.core import PyWattModule
from pywatt.core.plugins import build_plugins
from pywatt.core.testing import DEFAULT_INIT, ScriptedOrchestrator
from pywatt.server import ServeOptions

pytestmark = pytest.mark.anyio


@pytest.fixture
def plugins():
    eps = [ep for ep in md.entry_points(group="pywatt") if ep.name in {"core", "server"}]
    return build_plugins(entry_points=eps, env={})


def app_factory(state):
    async def hello(request):
        return PlainTextResponse(f"hello from {state.module_id}")

    return Starlette(routes=[Route("/hello", hello)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(address: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://{address}") as client:
        return await client.get(path)


async def test_assigned_port_is_bound_before_announce(plugins):
    port = free_port()
    init = dict(DEFAULT_INIT, listen=f"127.0.0.1:{port}")
    async with ScriptedOrchestrator(PyWattModule(app_factory), init=init, plugins=plugins) as o:
        announce = await o.expect("announce")
        # Bound before announcing: the very first request after announce succeeds.
        assert announce["listen"] == f"127.0.0.1:{port}"
        # The app's route, then the operations routes pywatt serves beside it.
        assert announce["endpoints"] == [
            {"path": "/hello", "methods": ["GET"]},
            {"path": "/health", "methods": ["GET"]},
            {"path": "/ready", "methods": ["GET"]},
            {"path": "/metrics", "methods": ["GET"]},
        ]
        resp = await get(announce["listen"], "/hello")
        assert resp.text == "hello from test-module"


async def test_port_zero_announces_the_bound_port(plugins):
    async with ScriptedOrchestrator(PyWattModule(app_factory), plugins=plugins) as o:
        announce = await o.expect("announce")
        host, port = announce["listen"].rsplit(":", 1)
        assert host == "127.0.0.1"
        assert int(port) > 0
        assert (await get(announce["listen"], "/hello")).status_code == 200


async def test_specific_port_overrides_listen(plugins):
    port = free_port()
    module = PyWattModule(app_factory, options=ServeOptions(specific_port=port))
    async with ScriptedOrchestrator(module, plugins=plugins) as o:
        announce = await o.expect("announce")
        assert announce["listen"] == f"127.0.0.1:{port}"
        assert (await get(announce["listen"], "/hello")).status_code == 200


async def test_negotiated_port(plugins):
    port = free_port()
    module = PyWattModule(app_factory, options=ServeOptions(negotiate_port=True))
    async with ScriptedOrchestrator(module, plugins=plugins) as o:
        request = await o.expect("port_request")
        assert request["specific_port"] is None
        await o.send(
            {
                "op": "port_response",
                "request_id": request["request_id"],
                "success": True,
                "port": port,
                "error_message": None,
            }
        )
        announce = await o.expect("announce")
        assert announce["listen"] == f"127.0.0.1:{port}"
        assert (await get(announce["listen"], "/hello")).status_code == 200


async def test_ipc_only_binds_nothing_and_still_answers_over_stdio(plugins):
    port = free_port()
    init = dict(DEFAULT_INIT, listen=f"127.0.0.1:{port}")
    module = PyWattModule(app_factory, options=ServeOptions(bind_http=False))
    async with ScriptedOrchestrator(module, init=init, plugins=plugins) as o:
        announce = await o.expect("announce")
        assert announce["listen"] == f"127.0.0.1:{port}"
        with pytest.raises(httpx.ConnectError):
            await get(announce["listen"], "/hello")
        await o.send(
            '{"op":"http_request","request_id":"r1","method":"GET","uri":"/hello",'
            '"headers":{},"body":null}'
        )
        reply = await o.receive()
        assert reply["content"]["status_code"] == 200
        assert bytes(reply["content"]["body"]) == b"hello from test-module"


async def test_unix_listen_path(plugins, tmp_path):
    path = str(tmp_path / "module.sock")
    init = dict(DEFAULT_INIT, listen=path)
    async with ScriptedOrchestrator(PyWattModule(app_factory), init=init, plugins=plugins) as o:
        announce = await o.expect("announce")
        assert announce["listen"] == path
        transport = httpx.AsyncHTTPTransport(uds=path)
        async with httpx.AsyncClient(transport=transport, base_url="http://module") as client:
            assert (await client.get("/hello")).text == "hello from test-module"


async def test_unknown_framework_name_lists_installed(plugins, caplog):
    module = PyWattModule(app_factory, options=ServeOptions(framework="django"))
    async with ScriptedOrchestrator(module, plugins=plugins) as o:
        assert await o.wait_exit() == 1
    assert "no server adapter 'django'; installed: fastapi, flask, starlette" in caplog.text
