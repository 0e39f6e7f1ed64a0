"""HTTP-over-IPC against the same app served directly by uvicorn over loopback, in one run.

Three figures for a trivial ``GET /ping`` with the same client concurrency:

* ``ipc``: a real module process; each request is an ``http_request`` line on its stdin and
  a response line on its stdout, driven by pywatt's dev orchestrator (the full path).
* ``dispatch``: ``AppRunner.handle()`` in-process (the IPC path minus the process and codec).
* ``uvicorn`` (the floor): the same Starlette app under plain uvicorn in its own process,
  driven over 127.0.0.1 by keep-alive connections with no client library in the way.

Ratios are figure / floor. Run: ``python benchmarks/bench_http_ipc.py [--seconds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import anyio

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator, SecretSource
from pywatt.core.serving import HttpExchangeRequest
from pywatt.server import StarletteAdapter

APP = textwrap.dedent(
    """
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def ping(request):
        return PlainTextResponse("pong")

    def make_app(state=None):
        return Starlette(routes=[Route("/ping", ping)])
    """
)
MODULE = APP + "\nfrom pywatt.server import serve_module\nserve_module(make_app)\n"
UVICORN = APP + textwrap.dedent(
    """
    import sys, uvicorn
    uvicorn.run(make_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False)
    """
)


async def run_for(seconds: float, concurrency: int, one) -> float:
    count = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await one()
            count += 1

    began = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return count / (time.perf_counter() - began)


async def bench_dispatch(seconds: float, concurrency: int) -> float:
    namespace: dict[str, object] = {}
    exec(APP, namespace)
    runner = StarletteAdapter().wrap(namespace["make_app"]())  # type: ignore[operator]
    await runner.startup()
    request = HttpExchangeRequest("GET", "/ping", {}, b"")

    async def one() -> None:
        assert (await runner.handle(request)).body == b"pong"

    await run_for(0.3, concurrency, one)
    rate = await run_for(seconds, concurrency, one)
    await runner.shutdown()
    return rate


async def bench_ipc(seconds: float, concurrency: int, workdir: Path) -> float:
    script = workdir / "ping_module.py"
    script.write_text(MODULE)
    env = {"PYWATT_LOAD_PLUGINS": "core,server", "PYWATT_LOG": "warn"}
    async with Orchestrator(SecretSource.from_dict({}), log_sink=lambda log: None) as orch:
        handle = await orch.start(ModuleSpec([sys.executable, str(script)], "ping", env=env))

        async def one() -> None:
            assert (await handle.http("GET", "/ping")).body == b"pong"

        await run_for(0.5, concurrency, one)
        return await run_for(seconds, concurrency, one)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _raw_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """One keep-alive GET with no client library, so the floor measures uvicorn, not httpx."""
    writer.write(b"GET /ping HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return await reader.readexactly(length)


async def bench_uvicorn(seconds: float, concurrency: int, workdir: Path) -> float:
    script = workdir / "ping_uvicorn.py"
    script.write_text(UVICORN)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), str(port)])
    conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(100):
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await anyio.sleep(0.1)
        writer.close()
        for _ in range(concurrency):
            conn = await asyncio.open_connection("127.0.0.1", port)
            conn[1].get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conns.append(conn)
        free = list(conns)

        async def one() -> None:
            conn = free.pop()
            try:
                assert await _raw_get(*conn) == b"pong"
            finally:
                free.append(conn)

        await run_for(0.5, concurrency, one)
        return await run_for(seconds, concurrency, one)
    finally:
        for _, w in conns:
            w.close()
        proc.terminate()
        proc.wait(10)


async def main(seconds: float, levels: list[int]) -> None:
    for concurrency in levels:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            floor = await bench_uvicorn(seconds, concurrency, work)
            ipc = await bench_ipc(seconds, concurrency, work)
            dispatch = await bench_dispatch(seconds, concurrency)
        print(f"HTTP GET /ping, concurrency {concurrency}, {seconds:g} s each")
        print(f"  uvicorn over loopback (floor) {floor:9.0f} req/s")
        print(f"  HTTP-over-IPC, module process {ipc:9.0f} req/s   ratio {ipc / floor:5.2f}")
        print(
            f"  in-process dispatch only      {dispatch:9.0f} req/s   ratio {dispatch / floor:5.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated levels")
    args = parser.parse_args()
    anyio.run(main, args.seconds, [int(c) for c in args.concurrency.split(",")])
