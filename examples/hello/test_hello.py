"""The hello module, run as an orchestrator runs it: a subprocess speaking the wire protocol.

The fixtures come from pywatt-core's pytest plugin: ``pywatt_module_factory`` starts the module
under the dev orchestrator, which answers ``get_secret`` from ``pywatt_secrets``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from pywatt.cli.orchestrator import ModuleHandle

HELLO = Path(__file__).with_name("hello.py")

pytestmark = pytest.mark.anyio

Factory = Callable[..., Awaitable[ModuleHandle]]


@pytest.fixture
async def hello(pywatt_module_factory: Factory) -> ModuleHandle:
    return await pywatt_module_factory(HELLO, secrets={"GREETING": "Howdy"})


async def test_greeting_comes_from_the_secret(hello: ModuleHandle) -> None:
    named = await hello.http("GET", "/hello?name=Ada")
    assert (named.status, named.json()) == (200, {"message": "Howdy, Ada!"})
    anonymous = await hello.http("GET", "/hello")
    assert anonymous.json() == {"message": "Howdy, world!"}


async def test_counter_lives_in_the_embedded_store(hello: ModuleHandle) -> None:
    assert (await hello.http("GET", "/count")).json() == {"count": 0}
    assert (await hello.http("POST", "/count")).json() == {"count": 1}
    assert (await hello.http("POST", "/count")).json() == {"count": 2}
    assert (await hello.http("GET", "/count")).json() == {"count": 2}


async def test_health_over_ipc_and_over_the_announced_socket(hello: ModuleHandle) -> None:
    assert (await hello.http("GET", "/health")).json() == {"status": "OK"}
    address = hello.http_address
    assert isinstance(address, tuple)
    async with httpx.AsyncClient(base_url=f"http://{address[0]}:{address[1]}") as client:
        resp = await client.get("/health")
    assert (resp.status_code, resp.json()) == (200, {"status": "OK"})


async def test_announces_its_routes(hello: ModuleHandle) -> None:
    routes = {e.path: sorted(e.methods) for e in hello.endpoints}
    assert routes["/hello"] == ["GET"]
    assert routes["/count"] == ["GET", "POST"]
    assert routes["/health"] == ["GET"]


async def test_stops_cleanly_on_shutdown(hello: ModuleHandle) -> None:
    assert await hello.stop(timeout=10) == 0


async def test_starts_with_the_default_greeting_when_the_secret_is_unknown(
    pywatt_module_factory: Factory, pywatt_secrets: dict[str, str]
) -> None:
    assert "GREETING" not in pywatt_secrets
    module = await pywatt_module_factory(HELLO, announce_timeout=20)
    reply = await module.http("GET", "/hello?name=you")
    assert reply.json() == {"message": "Hello, you!"}
    await module.wait_log("did not supply secret GREETING", timeout=5)
