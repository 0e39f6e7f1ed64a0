"""The items example, in FastAPI and in Flask, run as real module processes.

Both answer the same requests the same way, over stdio (HTTP-over-IPC) and over the socket
they announce; 1,000 concurrent stdio requests are each answered to the right request. (A
request in flight at shutdown is drained: the adapter kit checks that, test_adapter_kit.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import httpx
import pytest

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator, SecretSource

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "items"
VARIANTS = ["items_fastapi.py", "items_flask.py"]
ENV = {"PYWATT_LOAD_PLUGINS": "core,server"}  # only what the module needs, nothing broken


def quiet(_log):
    """Keep module logs out of the test output; failures print handle.logs."""


async def start(orch, script, module_id):
    spec = ModuleSpec.for_script(str(EXAMPLES / script), module_id=module_id, env=ENV)
    return await orch.start(spec)


async def socket_exchange(handle, method, uri, body=b"", headers=None):
    host, port = handle.http_address
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
        resp = await client.request(method, uri, content=body, headers=headers)
    return resp.status_code, dict(resp.headers), resp.content


async def ipc_exchange(handle, method, uri, body=b"", headers=None):
    resp = await handle.http(method, uri, headers=headers, body=body)
    return resp.status, resp.headers, resp.body


SCRIPT = [
    ("GET", "/health", b"", None),
    ("POST", "/items", b'{"name":"widget"}', {"content-type": "application/json"}),
    ("POST", "/items", b'{"name":"gadget"}', {"content-type": "application/json"}),
    ("GET", "/items?prefix=wid", b"", None),
    ("GET", "/items/2", b"", None),
    ("GET", "/items/99", b"", None),
    ("POST", "/items", b'{"name":7}', {"content-type": "application/json"}),
]


async def run_script(handle, exchange):
    results = []
    for method, uri, body, headers in SCRIPT:
        status, _headers, payload = await exchange(handle, method, uri, body, headers)
        results.append((status, json.loads(payload)))
    return results


EXPECTED = [
    (200, {"status": "OK", "module": "items"}),
    (201, {"id": 1, "name": "widget"}),
    (201, {"id": 2, "name": "gadget"}),
    (200, [{"id": 1, "name": "widget"}]),
    (200, {"id": 2, "name": "gadget"}),
    (404, {"detail": "no such item"}),
    (422, None),  # the body shape differs per framework; the status is the contract
]


def check(results):
    assert len(results) == len(EXPECTED)
    for (status, body), (want_status, want_body) in zip(results, EXPECTED, strict=True):
        assert status == want_status, (status, body)
        if want_body is not None:
            assert body == want_body


@pytest.mark.parametrize("script", VARIANTS)
@pytest.mark.parametrize("via", ["ipc", "socket"])
async def test_same_answers_over_stdio_and_socket(script, via):
    async with Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch:
        handle = await start(orch, script, "items")
        exchange = ipc_exchange if via == "ipc" else socket_exchange
        check(await run_script(handle, exchange))
        assert {(e.path, tuple(e.methods)) for e in handle.endpoints} >= {
            ("/health", ("GET",)),
            ("/items", ("GET", "POST")),
            ("/items/{item_id}", ("GET",)),
        }
        assert handle.stdout_errors == []


@pytest.mark.parametrize("script", VARIANTS)
async def test_binary_bodies_and_headers_survive_both_paths(script):
    payload = bytes(range(256)) * 4
    async with Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch:
        handle = await start(orch, script, "items")
        for exchange in (ipc_exchange, socket_exchange):
            status, headers, body = await exchange(handle, "POST", "/echo", payload)
            assert status == 200
            assert body == payload
            assert headers["x-echo-length"] == "1024"
            assert headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize("script", VARIANTS)
async def test_thousand_concurrent_stdio_requests_are_correlated(script):
    async with Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch:
        handle = await start(orch, script, "items")
        results: dict[int, bytes] = {}

        async def one(i: int) -> None:
            resp = await handle.http("POST", "/echo", body=f"request-{i}".encode(), timeout=60)
            assert resp.status == 200
            results[i] = resp.body

        async with anyio.create_task_group() as tg:
            for i in range(1000):
                tg.start_soon(one, i)
        assert results == {i: f"request-{i}".encode() for i in range(1000)}
