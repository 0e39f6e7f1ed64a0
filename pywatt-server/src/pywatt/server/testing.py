"""A conformance kit for server adapters: subclass :class:`AdapterConformance` in a test module.

::

    import pytest
    from pywatt.server.testing import AdapterConformance, Gate
    from acme_pywatt.adapter import AcmeAdapter

    class TestAcmeAdapter(AdapterConformance):
        @pytest.fixture
        def adapter(self) -> AcmeAdapter:
            return AcmeAdapter()

        @pytest.fixture
        def app(self, gate: Gate) -> object:
            return build_acme_app(gate)  # the routes below, in your framework

The app is one built with *your* framework, answering these routes:

========================  ================================================================
``GET`` ``/text``         200, body ``a page with a body``, ``content-type: text/plain``
                          (a charset may follow), header ``x-kit: 1``; ``HEAD`` too
``POST`` ``/echo``        200, the request body unchanged, ``content-type:
                          application/octet-stream``, header ``x-echo`` = the request's
``GET`` ``/teapot``       418, body ``short and stout``, header ``x-custom: yes``, and two
                          cookies: ``a=1`` then ``b=2`` (two ``set-cookie`` headers)
``GET`` ``/boom``         raises an exception the app does not handle
``GET`` ``/slow``         ``gate.wait()`` (sync handlers) or ``await gate.wait_async()``,
                          then 200, body ``done``
anything else             404
========================  ================================================================

The suite checks the :class:`~pywatt.core.serving.ServerAdapter` and
:class:`~pywatt.core.serving.AppRunner` contracts on the three paths a request can take:
``runner.handle`` (HTTP-over-IPC), ``runner.serve`` on a real socket, and a whole module under
the in-memory :class:`~pywatt.core.testing.ScriptedOrchestrator` (``http_request`` lines in,
``http_response`` lines out). It covers the adapter being chosen for the app without
``framework=``, status codes, headers (repeated ``set-cookie`` kept apart on the socket and
joined on the wire map), binary and 4 MiB bodies, ``HEAD`` (headers kept, body dropped),
an unhandled exception answered with a 500 and an error body (and the next request served),
200 concurrent requests, and shutdown: a request in flight is drained, new connections are
refused, ``drain_timeout`` is kept. It needs ``httpx`` (``pywatt-server[testing]``).
pywatt's Starlette (with Starlette and FastAPI apps) and Flask adapters run through it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest

from pywatt.core.contracts import (
    AppRunner,
    HttpExchangeRequest,
    HttpExchangeResponse,
    ServerAdapter,
)
from pywatt.core.plugins import Plugins, get_plugins
from pywatt.server._shield import INTERNAL_ERROR_BODY

__all__ = ["AdapterConformance", "AdapterTraits", "Gate"]

PAGE = b"a page with a body"
TEAPOT = b"short and stout"
BINARY = bytes(range(256)) * 4
LARGE = bytes(range(256)) * 16384  # 4 MiB
#: Response headers a socket server adds on its own; not the app's to compare.
_SERVER_HEADERS = {"date", "server"}


@dataclass(frozen=True)
class AdapterTraits:
    """What an adapter may legitimately do differently.

    :param error_body: the body the framework itself answers an unhandled exception with
        (Starlette: ``Internal Server Error``); ``None`` when the exception reaches pywatt,
        which answers with its JSON error body.
    :param logs_errors: an unhandled exception is logged once, with its traceback, at ERROR.
    """

    error_body: bytes | None = None
    logs_errors: bool = True


class Gate:
    """What ``/slow`` waits on; the kit opens it. Usable from threads and from the event loop."""

    def __init__(self) -> None:
        self._entered = threading.Event()
        self._open = threading.Event()
        self._lock = threading.Lock()
        self._inside = 0

    def _enter(self) -> None:
        with self._lock:
            self._inside += 1
        self._entered.set()

    def _leave(self) -> None:
        with self._lock:
            self._inside -= 1

    def wait(self, timeout: float = 60.0) -> None:
        """Block until the kit opens the gate (for sync handlers, which run in threads)."""
        self._enter()
        try:
            self._open.wait(timeout)
        finally:
            self._leave()

    async def wait_async(self, timeout: float = 60.0) -> None:
        """Wait until the kit opens the gate without blocking the event loop."""
        self._enter()
        try:
            with anyio.move_on_after(timeout):
                while not self._open.is_set():
                    await anyio.sleep(0.01)
        finally:
            self._leave()

    async def entered(self, timeout: float = 30.0) -> None:
        """Until a request is waiting at the gate."""
        with anyio.fail_after(timeout):
            while not self._entered.is_set():
                await anyio.sleep(0.01)

    def open(self) -> None:
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    async def release_all(self, timeout: float = 30.0) -> None:
        """Open the gate and wait until every handler has left it.

        A sync handler cut off by a drain timeout still runs in its thread; it must finish
        while the event loop it answers to is alive.
        """
        self.open()
        with anyio.move_on_after(timeout):
            while self._inside:
                await anyio.sleep(0.01)
            await anyio.sleep(0.2)  # the handler's thread hands its response to the loop


def _request(method: str, uri: str, body: bytes = b"", **headers: str) -> HttpExchangeRequest:
    named = {k.replace("_", "-"): v for k, v in headers.items()}
    return HttpExchangeRequest(method, uri, named, body)


def _app_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in _SERVER_HEADERS}


class AdapterConformance:
    """The behaviour every server adapter must have. Subclasses provide two fixtures:
    ``adapter`` (the :class:`~pywatt.core.serving.ServerAdapter`) and ``app`` (an app of its
    framework with the kit's routes, given the ``gate`` fixture); ``adapter_traits`` is
    optional.
    """

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    def adapter_traits(self) -> AdapterTraits:
        return AdapterTraits()

    @pytest.fixture
    def adapter_plugins(self) -> Plugins:
        """The plugins the adapter is chosen from (the process-wide ones unless overridden)."""
        return get_plugins()

    @pytest.fixture
    async def gate(self) -> AsyncIterator[Gate]:
        gate = Gate()
        yield gate
        await gate.release_all()  # never leave a handler (or its thread) waiting

    @pytest.fixture
    async def runner(self, adapter: ServerAdapter, app: object) -> AsyncIterator[AppRunner]:
        runner = adapter.wrap(app)
        await runner.startup()
        try:
            yield runner
        finally:
            await runner.shutdown()

    @pytest.fixture
    async def client(self, runner: AppRunner) -> AsyncIterator[httpx.AsyncClient]:
        """An HTTP client for ``runner.serve`` on a fresh 127.0.0.1 listener."""
        async with (
            self._serving(runner) as (address, _stop),
            httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
        ):
            yield client

    @staticmethod
    @asynccontextmanager
    async def _serving(
        runner: AppRunner, drain_timeout: float = 10.0
    ) -> AsyncIterator[tuple[str, anyio.Event]]:
        from pywatt.server.http import bind_listener, listener_address

        sock = bind_listener("127.0.0.1", 0)
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: runner.serve(sock, stop=stop, drain_timeout=drain_timeout))
            try:
                yield listener_address(sock), stop
            finally:
                stop.set()

    # -- choosing and wrapping -------------------------------------------------------------

    async def test_it_is_chosen_for_its_app_without_a_framework_name(
        self, adapter: ServerAdapter, app: object, adapter_plugins: Plugins
    ) -> None:
        from pywatt.server.adapters import select_adapter

        assert isinstance(adapter, ServerAdapter)
        assert adapter.name
        chosen = select_adapter(app, plugins=adapter_plugins)
        assert type(chosen) is type(adapter), f"{chosen.name!r} was chosen over {adapter.name!r}"
        assert isinstance(adapter.wrap(app), AppRunner)

    # -- one request, over handle() and over the socket ------------------------------------

    async def test_status_body_and_headers(
        self, runner: AppRunner, client: httpx.AsyncClient
    ) -> None:
        direct = await runner.handle(_request("GET", "/text"))
        wire = await client.get("/text")
        for status, headers, body in [
            (direct.status, direct.headers, direct.body),
            (wire.status_code, _app_headers(wire), wire.content),
        ]:
            assert (status, body) == (200, PAGE)
            assert headers["content-type"].startswith("text/plain")
            assert headers["x-kit"] == "1"
            assert all(name == name.lower() for name in headers)

    async def test_repeated_headers_keep_every_value(
        self, runner: AppRunner, client: httpx.AsyncClient
    ) -> None:
        direct = await runner.handle(_request("GET", "/teapot"))
        assert (direct.status, direct.body, direct.headers["x-custom"]) == (418, TEAPOT, "yes")
        # The wire's header map is single-valued: cookies are joined, each starting name=.
        cookies = direct.headers["set-cookie"]
        assert cookies.startswith("a=1")
        assert ", b=2" in cookies
        wire = await client.get("/teapot")
        assert (wire.status_code, wire.content, wire.headers["x-custom"]) == (418, TEAPOT, "yes")
        on_socket = wire.headers.get_list("set-cookie")
        assert [c.split(";")[0] for c in on_socket] == ["a=1", "b=2"]

    @pytest.mark.parametrize("body", [b"", BINARY, LARGE], ids=["empty", "binary", "4MiB"])
    async def test_bodies_round_trip_byte_for_byte(
        self, runner: AppRunner, client: httpx.AsyncClient, body: bytes
    ) -> None:
        direct = await runner.handle(
            _request("POST", "/echo", body, content_type="application/octet-stream", x_echo="kit")
        )
        wire = await client.post(
            "/echo",
            content=body,
            headers={"content-type": "application/octet-stream", "x-echo": "kit"},
        )
        for response in (direct, wire):
            headers = response.headers
            assert headers["content-type"] == "application/octet-stream"
            assert headers["x-echo"] == "kit"
        assert (direct.status, direct.body) == (200, body)
        assert (wire.status_code, wire.content) == (200, body)

    async def test_head_keeps_the_headers_and_drops_the_body(
        self, runner: AppRunner, client: httpx.AsyncClient
    ) -> None:
        get = await runner.handle(_request("GET", "/text"))
        head = await runner.handle(_request("HEAD", "/text"))
        assert (head.status, head.body) == (200, b"")
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.headers["x-kit"] == "1"
        if "content-length" in head.headers:  # if sent, it is the GET body's length
            assert head.headers["content-length"] == str(len(PAGE))
        wire = await client.head("/text")
        assert (wire.status_code, wire.content, wire.headers["x-kit"]) == (200, b"", "1")
        assert wire.headers["content-length"] == str(len(PAGE))
        # HEAD of a route that has no GET is refused, still without a body.
        refused = await runner.handle(_request("HEAD", "/echo"))
        assert refused.status in (404, 405)
        assert refused.body == b""

    async def test_an_unknown_path_is_a_404(
        self, runner: AppRunner, client: httpx.AsyncClient
    ) -> None:
        assert (await runner.handle(_request("GET", "/no/such/path"))).status == 404
        assert (await client.get("/no/such/path")).status_code == 404

    async def test_an_unhandled_exception_is_a_500_with_an_error_body(
        self,
        runner: AppRunner,
        client: httpx.AsyncClient,
        adapter_traits: AdapterTraits,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        expected = adapter_traits.error_body
        with caplog.at_level(logging.ERROR):
            direct = await runner.handle(_request("GET", "/boom"))
            wire = await client.get("/boom")
        for status, headers, body in [
            (direct.status, direct.headers, direct.body),
            (wire.status_code, _app_headers(wire), wire.content),
        ]:
            assert status == 500
            if expected is None:  # the exception reached pywatt, which answers in JSON
                assert (body, headers["content-type"]) == (INTERNAL_ERROR_BODY, "application/json")
            else:
                assert body == expected
        # The app is still serving.
        assert (await runner.handle(_request("GET", "/text"))).body == PAGE
        assert (await client.get("/text")).content == PAGE
        if adapter_traits.logs_errors:  # one traceback per failed request
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(errors) == 2, [r.getMessage() for r in errors]
            assert all(r.exc_info is not None for r in errors)

    async def test_concurrent_requests_each_get_their_own_response(self, runner: AppRunner) -> None:
        results: dict[int, HttpExchangeResponse] = {}

        async def one(i: int) -> None:
            body = f"body-{i};".encode() * (i % 7)
            results[i] = await runner.handle(_request("POST", "/echo", body, x_echo=str(i)))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for i in range(200):
                    tg.start_soon(one, i)
        for i, response in results.items():
            assert (response.status, response.headers["x-echo"]) == (200, str(i))
            assert response.body == f"body-{i};".encode() * (i % 7)
        assert len(results) == 200

    # -- shutdown ---------------------------------------------------------------------------

    async def test_stop_refuses_new_connections_and_drains_the_request_in_flight(
        self, runner: AppRunner, gate: Gate
    ) -> None:
        results: dict[str, Any] = {}

        async def slow_client(address: str) -> None:
            async with httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as c:
                results["slow"] = await c.get("/slow")

        with anyio.fail_after(60):
            async with self._serving(runner) as (address, stop), anyio.create_task_group() as tg:
                tg.start_soon(slow_client, address)
                await gate.entered()
                stop.set()
                assert await _refuses_connections(address), "still accepting after stop"
                assert "slow" not in results  # refused while /slow was still waiting
                gate.open()
        slow = results["slow"]
        assert (slow.status_code, slow.content) == (200, b"done")

    async def test_drain_gives_up_after_the_drain_timeout(
        self, runner: AppRunner, gate: Gate
    ) -> None:
        outcome: dict[str, Any] = {}

        async def hang(address: str) -> None:
            async with httpx.AsyncClient(base_url=f"http://{address}", timeout=60) as c:
                try:
                    outcome["status"] = (await c.get("/slow")).status_code
                except httpx.HTTPError as exc:
                    outcome["error"] = exc

        with anyio.fail_after(30):  # generous: the contract is "returns", not how fast
            async with anyio.create_task_group() as tg:
                async with self._serving(runner, drain_timeout=0.5) as (address, stop):
                    tg.start_soon(hang, address)
                    await gate.entered()
                    stop.set()
                # serve has returned, with /slow still waiting at the closed gate.
                outcome["returned_while_waiting"] = not gate.is_open
        assert outcome["returned_while_waiting"]
        # The request was cut off: an error, or the 500 of a cancelled request; never a 200.
        assert "error" in outcome or outcome["status"] == 500, outcome

    # -- a whole module over the protocol ---------------------------------------------------

    async def test_a_module_serves_it_over_stdio_and_drains_at_shutdown(
        self, app: object, adapter_plugins: Plugins, gate: Gate
    ) -> None:
        from pywatt.core.module import PyWattModule, ServeOptions
        from pywatt.core.testing import ScriptedOrchestrator

        module: PyWattModule[None] = PyWattModule(
            lambda state: app, options=ServeOptions(bind_http=False)
        )
        async with ScriptedOrchestrator(module, plugins=adapter_plugins) as orch:
            await orch.expect("announce", timeout=30)

            async def send(rid: str, method: str, uri: str, body: bytes = b"") -> None:
                await orch.send(
                    {
                        "op": "http_request",
                        "request_id": rid,
                        "method": method,
                        "uri": uri,
                        "headers": {"x-echo": rid},
                        "body": list(body) if body else None,
                    }
                )

            async def exchange(rid: str, method: str, uri: str, body: bytes = b"") -> Any:
                await send(rid, method, uri, body)
                return await _http_response(orch, rid)

            text = await exchange("r1", "GET", "/text")
            assert (text["status_code"], bytes(text["body"])) == (200, PAGE)
            assert text["headers"]["x-kit"] == "1"
            echo = await exchange("r2", "POST", "/echo", BINARY)
            assert (echo["status_code"], bytes(echo["body"])) == (200, BINARY)
            assert echo["headers"]["x-echo"] == "r2"
            assert (await exchange("r3", "GET", "/boom"))["status_code"] == 500
            # A request in flight when shutdown arrives is answered before the module exits.
            await send("r4", "GET", "/slow")
            await gate.entered()
            await orch.send({"op": "shutdown"})
            await anyio.sleep(0.2)
            assert orch.exit_code is None  # still draining
            gate.open()
            slow = await _http_response(orch, "r4")
            assert (slow["status_code"], bytes(slow["body"] or [])) == (200, b"done")
            assert await orch.wait_exit(timeout=30) == 0


async def _refuses_connections(address: str, timeout: float = 10.0) -> bool:
    """Whether new connections to ``address`` are refused within ``timeout`` seconds."""
    with anyio.move_on_after(timeout):
        while True:
            try:
                async with httpx.AsyncClient(base_url=f"http://{address}") as client:
                    await client.get("/text", timeout=0.5)
            except httpx.ConnectError:
                return True
            except httpx.TimeoutException:
                pass
            await anyio.sleep(0.05)
    return False


async def _http_response(orch: Any, request_id: str) -> dict[str, Any]:
    """The HTTP response to ``request_id`` (an ``http_response`` in its IPC envelope, §6)."""
    while True:
        line = await orch.receive(timeout=30)
        content = line.get("content")
        if isinstance(content, dict) and content.get("request_id") == request_id:
            return content
