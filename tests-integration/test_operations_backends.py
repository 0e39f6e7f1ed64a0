"""Operations routes against real backends.

``/ready`` follows a real Redis: 503 while it is unreachable, 200 once it is back. And
``/metrics`` counts the orchestrator-proxied cache's service operations and its hits and misses.

The module's cache talks to Redis through a TCP relay the test owns. Closing the relay (its
listener and every connection) makes Redis unreachable on that port; reopening it on the
same port brings it back. No check is registered by hand: the cache in the user state is
found and pinged.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import textwrap

import anyio
import pytest

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator

pytestmark = pytest.mark.anyio

REDIS = ("127.0.0.1", 6379)

MODULE = textwrap.dedent(
    """
    import os
    from dataclasses import dataclass
    from starlette.applications import Starlette
    from pywatt.core import pywatt_module
    from pywatt.data import Cache, open_cache

    @dataclass
    class State:
        sessions: Cache

    def build_state(config, secrets):
        return State(open_cache(os.environ["RELAY_URL"], namespace=os.environ["NAMESPACE"]))

    @pywatt_module(state=build_state)
    def create_app(state):
        return Starlette()

    if __name__ == "__main__":
        create_app.run()
    """
)


class Relay:
    """A TCP relay to Redis that can be cut and restored on the same port."""

    def __init__(self) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        self.writers.clear()
        await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*REDIS)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def quiet(_log):
    """Module logs stay out of the test output."""


async def wait_status(handle, want: int, timeout: float = 30.0) -> dict:
    with anyio.fail_after(timeout):
        while True:
            reply = await handle.http("GET", "/ready", timeout=15)
            if reply.status == want:
                return reply.json()
            await anyio.sleep(0.2)


async def test_ready_flips_with_redis_reachability(tmp_path):
    relay = Relay()
    await relay.open()
    script = tmp_path / "cached.py"
    script.write_text(MODULE)
    env = {
        "RELAY_URL": f"redis://127.0.0.1:{relay.port}",
        "NAMESPACE": f"ready-{secrets.token_hex(4)}",
    }
    async with Orchestrator(log_sink=quiet) as orch:
        handle = await orch.start(ModuleSpec.for_script(script, env=env))
        body = await wait_status(handle, 200)
        assert body["checks"]["sessions"]["status"] == "ok"

        await relay.cut()
        body = await wait_status(handle, 503)
        assert body["status"] == "fail"
        assert body["checks"]["sessions"]["status"] in ("fail", "timeout")
        assert (await handle.http("GET", "/health")).status == 200

        await relay.open()
        body = await wait_status(handle, 200)
        assert body["checks"]["sessions"]["status"] == "ok"
    await relay.cut()


SERVICE_MODULE = textwrap.dedent(
    """
    from dataclasses import dataclass
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from pywatt.core import pywatt_module
    from pywatt.data import Cache, open_cache

    @dataclass
    class State:
        store: Cache

    @pywatt_module(state=lambda config, secrets: State(open_cache("proxy://")))
    def create_app(state):
        store = state.user.store

        async def put(request):
            await store.set(request.path_params["key"], b"v")
            return JSONResponse(True)

        async def get(request):
            return JSONResponse(await store.get(request.path_params["key"]) is not None)

        return Starlette(routes=[Route("/put/{key}", put), Route("/get/{key}", get)])

    if __name__ == "__main__":
        create_app.run()
    """
)


async def test_service_operations_and_cache_stats_are_in_metrics(tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    script = tmp_path / "proxied.py"
    script.write_text(SERVICE_MODULE)
    async with Orchestrator(log_sink=quiet) as orch:
        handle = await orch.start(ModuleSpec.for_script(script))
        for i in range(4):
            assert (await handle.http("GET", f"/put/k{i}")).json() is True
        hits = [(await handle.http("GET", f"/get/k{i}")).json() for i in range(6)]
        assert hits == [True] * 4 + [False] * 2
        text = (await handle.http("GET", "/metrics")).text
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def ops(operation):
        labels = (("operation", operation), ("outcome", "ok"), ("service_type", "Cache"))
        return found[("pywatt_service_operation_duration_seconds_count", labels)]

    assert (ops("set"), ops("get")) == (4, 6)
    assert found[("pywatt_cache_hits_total", (("cache", "store"),))] == 4
    assert found[("pywatt_cache_misses_total", (("cache", "store"),))] == 2


CHANNEL_MODULE = textwrap.dedent(
    """
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from pywatt.core import pywatt_module

    @pywatt_module()
    def create_app(state):
        return Starlette(routes=[Route("/hi", lambda request: PlainTextResponse("hi"))])

    if __name__ == "__main__":
        create_app.run()
    """
)


async def test_channel_readiness_metrics_and_channel_transport(tmp_path):
    from pywatt.core.messages import HttpRequest

    script = tmp_path / "channelled.py"
    script.write_text(CHANNEL_MODULE)
    async with Orchestrator(log_sink=quiet) as orch:
        handle = await orch.start(ModuleSpec.for_script(script, tcp_channel=True))
        await orch.wait_channel("channelled", timeout=30)
        ready = (await handle.http("GET", "/ready")).json()
        assert ready["checks"]["tcp_channel"]["status"] == "ok"
        for i in range(3):
            request = HttpRequest(request_id=f"c{i}", method="GET", uri="/hi", headers={})
            assert await orch.send_frame("channelled", request)
        served = (
            'pywatt_http_requests_total{method="GET",route="/hi",status="200",transport="channel"}'
            " 3.0"
        )
        with anyio.fail_after(30):  # the channel's replies go to the orchestrator, not here
            while served not in (text := (await handle.http("GET", "/metrics")).text):
                await anyio.sleep(0.1)
    assert 'pywatt_channel_connected{channel="tcp"} 1.0' in text
    assert 'pywatt_channel_frames_total{channel="tcp",direction="in"}' in text
