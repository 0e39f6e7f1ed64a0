"""HTTP-over-IPC against the same app served directly by uvicorn over loopback, in one run.

Three figures for a trivial ``GET /ping`` with the same client concurrency:

* ``ipc``: a real module process; each request is an ``http_request`` line on its stdin and
  a response line on its stdout, driven by pywatt's dev orchestrator (the full path). It is
  measured three times: bare (``metrics=False``, ``PYWATT_TRACING=0``), with Prometheus
  metrics on (the default once prometheus-client is installed), and with metrics and
  tracing on while only the OpenTelemetry API is installed (no SDK provider set).
* ``dispatch``: ``AppRunner.handle()`` in-process (the IPC path minus the process and codec),
  for the same three variants, in interleaved rounds: what metrics and spans cost per request.
* ``uvicorn`` (the floor): the same Starlette app under plain uvicorn in its own process,
  driven over 127.0.0.1 by keep-alive connections with no client library in the way.

Ratios are figure / floor. Run: ``python benchmarks/bench_http_ipc.py [--seconds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import anyio
from _results import record

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
MODULE = APP + textwrap.dedent(
    """
    import sys
    from pywatt.core.module import PyWattModule
    PyWattModule(make_app, metrics=sys.argv[1] == "metrics").run()
    """
)
#: name -> (metrics on, traces on)
VARIANTS = {"bare": (False, False), "metrics": (True, False), "metrics+otel": (True, True)}
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


async def bench_dispatch(seconds: float, concurrency: int) -> dict[str, float]:
    """In-process dispatch per variant; rounds interleave the variants, medians are kept.

    Without a process or a pipe in the way this isolates what metrics and spans cost.
    """
    from pywatt.core.config import AppConfig
    from pywatt.core.health import Operations
    from pywatt.core.telemetry import get_tracing, set_tracing
    from pywatt.server.plugin import pywatt_module_configured

    namespace: dict[str, object] = {}
    exec(APP, namespace)
    request = HttpExchangeRequest("GET", "/ping", {}, b"")
    runners = {}
    for variant, (metrics, _traces) in VARIANTS.items():
        runner = StarletteAdapter().wrap(namespace["make_app"]())  # type: ignore[operator]
        runner.serve_operations(Operations(metrics="/metrics" if metrics else None))  # type: ignore[attr-defined]
        await runner.startup()
        runners[variant] = runner
    # What pywatt-server's plugin installs for a traced module (with the API alone: nothing).
    pywatt_module_configured(AppConfig(module_id="bench", env={"PYWATT_TRACING": "1"}))
    tracing = get_tracing()
    rates: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for _round in range(7):
        for variant, runner in runners.items():
            set_tracing(tracing if VARIANTS[variant][1] else None)

            async def one(runner: Any = runner) -> None:
                assert (await runner.handle(request)).body == b"pong"

            await run_for(0.05, concurrency, one)
            rates[variant].append(await run_for(seconds / 7, concurrency, one))
    set_tracing(None)
    for runner in runners.values():
        await runner.shutdown()
    return {variant: statistics.median(r) for variant, r in rates.items()}


async def bench_ipc(seconds: float, concurrency: int, workdir: Path, variant: str) -> float:
    script = workdir / "ping_module.py"
    script.write_text(MODULE)
    metrics, traces = VARIANTS[variant]
    env = {
        "PYWATT_LOAD_PLUGINS": "core,server",
        "PYWATT_LOG": "warn",
        "PYWATT_TRACING": "1" if traces else "0",
    }
    command = [sys.executable, str(script), "metrics" if metrics else "none"]
    async with Orchestrator(SecretSource.from_dict({}), log_sink=lambda log: None) as orch:
        handle = await orch.start(ModuleSpec(command, "ping", env=env))
        if metrics:
            assert (await handle.http("GET", "/metrics")).status == 200

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


async def main(seconds: float, levels: list[int], variants: list[str], dispatch_too: bool) -> None:
    for concurrency in levels:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            floor = await bench_uvicorn(seconds, concurrency, work)
            ipc = {v: await bench_ipc(seconds, concurrency, work, v) for v in variants}
            dispatch = await bench_dispatch(seconds, concurrency) if dispatch_too else {}
        print(f"HTTP GET /ping, concurrency {concurrency}, {seconds:g} s each")
        print(f"  uvicorn over loopback (floor) {floor:9.0f} req/s")
        for variant, rate in ipc.items():
            print(
                f"  HTTP-over-IPC, {variant:<14} {rate:9.0f} req/s   ratio {rate / floor:5.2f}"
                f"   vs bare {rate / ipc.get('bare', rate):5.2f}"
            )
            name = "HTTP over IPC (P2)" if variant == "bare" else f"HTTP over IPC (P2), {variant}"
            record(
                name,
                f"GET /ping, concurrency {concurrency}",
                rate,
                floor,
                "req/s",
                rate / floor,
                aim=1.0,
            )
        for variant, rate in dispatch.items():
            print(
                f"  dispatch only, {variant:<14} {rate:9.0f} req/s   ratio {rate / floor:5.2f}"
                f"   vs bare {rate / dispatch['bare']:5.2f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated levels")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated IPC variants to run"
    )
    parser.add_argument(
        "--no-dispatch", action="store_true", help="skip the in-process dispatch figures"
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    anyio.run(main, args.seconds, levels, variants, not args.no_dispatch)
