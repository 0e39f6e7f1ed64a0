"""The HTTP socket of a real module process: drained on stop, and bounded against slow clients.

A request in flight on the socket when SIGTERM or ``shutdown`` arrives finishes under the
same ``drain_timeout`` as stdio requests; past that deadline the module still exits. Clients
that never finish their headers (slowloris) are closed after ``header_timeout``, and
``limit_concurrency`` answers 503 beyond its limit.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator, SecretSource

pytestmark = pytest.mark.anyio

APP = Path(__file__).parent / "apps" / "parity_fastapi.py"


def quiet(_log: Any) -> None:
    """Keep module logs out of the test output."""


async def start(orch: Orchestrator, flags: Path, **options: Any) -> Any:
    env = {
        "PYWATT_LOAD_PLUGINS": "core,server",
        "PARITY_DIR": str(flags),
        "PARITY_OPTIONS": json.dumps(options),
    }
    return await orch.start(ModuleSpec([sys.executable, str(APP)], "limits", env=env))


async def wait_for_file(path: Path) -> None:
    with anyio.fail_after(10):
        while not path.exists():
            await anyio.sleep(0.01)


async def stop_module(handle: Any, how: str) -> int:
    if how == "sigterm":
        os.kill(handle.pid, signal.SIGTERM)
        return int(await handle.wait_exit(timeout=30))
    return int(await handle.stop(timeout=30))


@pytest.mark.parametrize("how", ["sigterm", "shutdown"])
async def test_a_socket_request_in_flight_is_drained(tmp_path, how):
    async with Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch:
        # The orchestrator closes stdin right after ``shutdown``: that EOF must not cut the
        # drain short to eof_grace.
        handle = await start(orch, tmp_path, drain_timeout=20, eof_grace=0.2)
        host, port = handle.http_address
        result: dict[str, Any] = {}

        async def slow_request() -> None:
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30) as c:
                result["response"] = await c.get("/slow")

        async def stop() -> None:
            result["code"] = await stop_module(handle, how)

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow_request)
            await wait_for_file(tmp_path / "slow-started")
            tg.start_soon(stop)
            await anyio.sleep(0.5)
            # Still draining: the request holds the exit until it is allowed to finish.
            assert "response" not in result
            assert "code" not in result
            (tmp_path / "release").write_text("")
    response = result["response"]
    assert (response.status_code, response.text) == (200, "finished")
    assert result["code"] == 0


async def test_a_socket_request_past_the_drain_deadline_does_not_hold_the_exit(tmp_path):
    async with Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch:
        handle = await start(orch, tmp_path, drain_timeout=0.5)
        host, port = handle.http_address
        result: dict[str, Any] = {}

        async def slow_request() -> None:
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30) as c:
                try:
                    result["response"] = await c.get("/slow")
                except httpx.HTTPError as exc:  # dropped when the process exits
                    result["error"] = exc

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow_request)
            await wait_for_file(tmp_path / "slow-started")
            # "release" never appears: the request cannot finish, the deadline ends it.
            assert await handle.stop(timeout=30) == 0
    response = result.get("response")
    assert "error" in result or response.status_code == 500, result


async def read_until_closed(stream: Any) -> bytes:
    received = b""
    with anyio.fail_after(15):
        while True:
            try:
                received += await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                return received


async def test_slow_header_clients_are_closed_and_limited(tmp_path):
    async with Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch:
        handle = await start(orch, tmp_path, limit_concurrency=3, header_timeout=3.0)
        host, port = handle.http_address
        base = f"http://{host}:{port}"
        closed: dict[int, bytes] = {}
        connected = [anyio.Event() for _ in range(3)]

        async def slowloris(i: int) -> None:
            stream = await anyio.connect_tcp(host, port)
            async with stream:
                await stream.send(b"GET /page HTTP/1.1\r\nhost: module\r\n")
                connected[i].set()

                async def dribble() -> None:
                    # One header line at a time, never the blank line that ends them.
                    for n in range(200):
                        await anyio.sleep(0.1)
                        try:
                            await stream.send(f"x-drip-{n}: 1\r\n".encode())
                        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                            return

                async with anyio.create_task_group() as tg:
                    tg.start_soon(dribble)
                    closed[i] = await read_until_closed(stream)
                    tg.cancel_scope.cancel()

        async def idle() -> None:
            stream = await anyio.connect_tcp(host, port)
            async with stream:
                closed[-1] = await read_until_closed(stream)

        async with anyio.create_task_group() as tg:
            for i in range(2):
                tg.start_soon(slowloris, i)
                await connected[i].wait()
            # Two slow clients and this one: within the limit of three connections.
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                assert (await client.get("/page")).status_code == 200
            tg.start_soon(slowloris, 2)
            await connected[2].wait()
            # The limit is taken by the slow clients: a full request is turned away (asked
            # again while the server may not have seen every connection yet).
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                with anyio.fail_after(2.5):
                    while (await client.get("/page")).status_code != 503:
                        await anyio.sleep(0.05)
            tg.start_soon(idle)
        # The header timeout closed every slow client, even one still sending lines.
        assert sorted(closed) == [-1, 0, 1, 2]
        for i in range(3):
            assert closed[i].startswith(b"HTTP/1.1 408 Request Timeout\r\n"), closed[i]
        assert closed[-1] == b""  # connected and sent nothing: closed without a word
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            after = await client.get("/page")
        assert (after.status_code, after.text) == (200, "a page with a body")
