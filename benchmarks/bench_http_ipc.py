"""HTTP-over-IPC dispatch against the same app served by uvicorn over loopback, in one run.

The IPC figure is ``AppRunner.handle()`` alone (what an ``http_request`` line costs minus the
stdio line codec); the floor is uvicorn + httpx over 127.0.0.1 with keep-alive and the same
number of concurrent clients. Run: ``python benchmarks/bench_http_ipc.py [--seconds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import anyio
import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pywatt.core.serving import HttpExchangeRequest
from pywatt.server import StarletteAdapter, bind_listener, listener_address


async def ping(request):
    return PlainTextResponse("pong")


def make_app():
    return Starlette(routes=[Route("/ping", ping)])


async def _run_for(seconds: float, concurrency: int, one) -> float:
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


async def bench_ipc(seconds: float, concurrency: int) -> float:
    runner = StarletteAdapter().wrap(make_app())
    await runner.startup()
    request = HttpExchangeRequest("GET", "/ping", {"accept": "text/plain"}, b"")

    async def one() -> None:
        response = await runner.handle(request)
        assert response.body == b"pong"

    await _run_for(0.2, concurrency, one)  # warm-up
    rate = await _run_for(seconds, concurrency, one)
    await runner.shutdown()
    return rate


async def bench_uvicorn(seconds: float, concurrency: int) -> float:
    runner = StarletteAdapter().wrap(make_app())
    await runner.startup()
    sock = bind_listener("127.0.0.1", 0)
    address = listener_address(sock)
    stop = anyio.Event()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    rate = 0.0
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: runner.serve(sock, stop=stop, drain_timeout=2))
        async with httpx.AsyncClient(base_url=f"http://{address}", limits=limits) as client:

            async def one() -> None:
                response = await client.get("/ping", headers={"accept": "text/plain"})
                assert response.content == b"pong"

            await _run_for(0.2, concurrency, one)  # warm-up
            rate = await _run_for(seconds, concurrency, one)
        stop.set()
    await runner.shutdown()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    ipc = asyncio.run(bench_ipc(args.seconds, args.concurrency))
    floor = asyncio.run(bench_uvicorn(args.seconds, args.concurrency))
    print(f"http-over-ipc handle():     {ipc:10.0f} req/s")
    print(f"uvicorn + httpx (loopback): {floor:10.0f} req/s")
    print(f"ratio ipc / uvicorn:        {ipc / floor:10.2f}x")


if __name__ == "__main__":
    main()
