"""The same app answers alike over stdio, over the socket, and called directly through ASGI.

The apps in ``apps/`` run as real module processes. ``HEAD`` loses its body but keeps the
app's ``content-length``; the app's own error responses pass through; the stdio reply to a
request with background work is written when the response ends, and the work still counts
for the drain at shutdown.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator, SecretSource

pytestmark = pytest.mark.anyio

APPS = Path(__file__).parent / "apps"
ENV = {"PYWATT_LOAD_PLUGINS": "core,server"}
JSON_500 = b'{"status":"error","data":null,"message":"Internal Server Error"}'

Exchange = tuple[int, dict[str, str], bytes]


def load_app_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"pywatt_parity_{name}", APPS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quiet(_log: Any) -> None:
    """Keep module logs out of the test output."""


async def start(orch: Orchestrator, name: str, flags: Path, **env: str) -> Any:
    spec = ModuleSpec(
        [sys.executable, str(APPS / f"{name}.py")],
        name.replace("_", "-"),
        env={**ENV, "PARITY_DIR": str(flags), **env},
    )
    return await orch.start(spec)


def normalized(status: int, headers: Any, body: bytes) -> Exchange:
    # uvicorn adds a date on the socket; it is the server's header, not the app's.
    return status, {k.lower(): v for k, v in dict(headers).items() if k.lower() != "date"}, body


async def over_stdio(handle: Any, method: str, uri: str) -> Exchange:
    response = await handle.http(method, uri, timeout=10)
    return normalized(response.status, response.headers, response.body)


async def over(client: httpx.AsyncClient, method: str, uri: str) -> Exchange:
    response = await client.request(method, uri)
    return normalized(response.status_code, response.headers, response.content)


def socket_client(handle: Any) -> httpx.AsyncClient:
    host, port = handle.http_address
    return httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10)


FASTAPI_CASES = [
    ("GET", "/page"),
    ("HEAD", "/page"),
    ("HEAD", "/only-post"),  # 405, with a JSON body that HEAD drops
    ("GET", "/subapi/openapi.json"),
    ("HEAD", "/subapi/openapi.json"),
    ("GET", "/handled"),
    ("GET", "/subapi/boom"),
    ("GET", "/background"),
]


async def test_fastapi_answers_alike_over_stdio_socket_and_direct_asgi(tmp_path):
    (tmp_path / "release").write_text("")  # background tasks finish at once here
    app = load_app_module("parity_fastapi").make_app(tmp_path)
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with (
        Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch,
        httpx.AsyncClient(transport=transport, base_url="http://module") as direct,
    ):
        handle = await start(orch, "parity_fastapi", tmp_path)
        async with socket_client(handle) as wire:
            for method, uri in FASTAPI_CASES:
                expected = await over(direct, method, uri)
                assert await over_stdio(handle, method, uri) == expected, (method, uri)
                assert await over(wire, method, uri) == expected, (method, uri)
        results = {case: await over(direct, *case) for case in FASTAPI_CASES}
    page, head_page = results["GET", "/page"], results["HEAD", "/page"]
    assert head_page == (200, page[1], b"")
    assert head_page[1]["content-length"] == str(len(b"a page with a body"))
    openapi = results["GET", "/subapi/openapi.json"]
    assert results["HEAD", "/subapi/openapi.json"] == (200, openapi[1], b"")
    assert results["HEAD", "/only-post"][0] == 405
    assert results["HEAD", "/only-post"][2] == b""
    status, headers, body = results["GET", "/handled"]
    assert (status, headers["x-handled-by"]) == (500, "custom")
    assert body == b'{"error":"custom","type":"ValueError"}'
    assert results["GET", "/subapi/boom"][0::2] == (500, b"Internal Server Error")


FLASK_CASES = [
    ("GET", "/page"),
    ("HEAD", "/page"),
    ("HEAD", "/only-post"),
    ("GET", "/handled"),
    ("GET", "/boom"),
    ("GET", "/background"),
]


async def test_flask_answers_alike_over_stdio_and_socket(tmp_path):
    (tmp_path / "release").write_text("")
    async with Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch:
        handle = await start(orch, "parity_flask", tmp_path)
        results = {}
        async with socket_client(handle) as wire:
            for method, uri in FLASK_CASES:
                results[method, uri] = await over_stdio(handle, method, uri)
                assert await over(wire, method, uri) == results[method, uri], (method, uri)
    page, head_page = results["GET", "/page"], results["HEAD", "/page"]
    assert head_page == (200, page[1], b"")
    assert head_page[1]["content-length"] == str(len(b"a page with a body"))
    assert results["HEAD", "/only-post"][0::2] == (405, b"")
    status, headers, body = results["GET", "/handled"]
    assert (status, headers["x-handled-by"], body) == (500, "custom", b'{"error":"custom"}\n')
    # Flask's own 500 page is switched off, so no response exists: pywatt writes its JSON.
    assert results["GET", "/boom"][0::2] == (500, JSON_500)


@pytest.mark.parametrize("name", ["parity_fastapi", "parity_flask"])
@pytest.mark.parametrize("via", ["stdio", "socket"])
async def test_reply_comes_before_background_work_which_shutdown_waits_for(tmp_path, name, via):
    async with Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch:
        handle = await start(orch, name, tmp_path)
        # The task cannot end before "release" exists, so this reply came first.
        if via == "stdio":
            status, _headers, body = await over_stdio(handle, "GET", "/background")
        else:
            async with socket_client(handle) as wire:
                status, _headers, body = await over(wire, "GET", "/background")
        assert (status, json.loads(body)) == (200, {"queued": "yes"})
        assert not (tmp_path / "done").exists()
        codes: list[int] = []

        async def stop() -> None:
            codes.append(await handle.stop(timeout=15))

        async with anyio.create_task_group() as tg:
            tg.start_soon(stop)
            await anyio.sleep(0.5)
            assert codes == []  # still draining: the background work holds the exit
            (tmp_path / "release").write_text("")
        assert codes == [0]
        assert (tmp_path / "done").read_text() == "done"
