"""A FastAPI module that registers (§7.2) and serves its app over HTTP over TCP (§5.4) too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request

from pywatt.comm import ConnectionConfig, ModuleInfo, register_module, serve_http_over_tcp
from pywatt.core import AppState, pywatt_module
from pywatt.core.module import current_module


async def over_tcp() -> None:
    runner = current_module().runner
    assert runner is not None
    info = ModuleInfo(name="tcpweb", version="1.0.0", description="HTTP over TCP")
    reg = await register_module(ConnectionConfig.from_env(), info)
    async with anyio.create_task_group() as tg:
        tg.start_soon(reg.serve)
        await serve_http_over_tcp(reg.module, runner.handle)
        tg.cancel_scope.cancel()


@pywatt_module()
def create_app(state: AppState[Any]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(over_tcp())
        yield
        task.cancel()

    app = FastAPI(lifespan=lifespan)

    @app.get("/hello")
    async def hello(name: str = "world") -> dict[str, str]:
        return {"module": state.config.module_id, "hello": name}

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        body = await request.body()
        return {"length": len(body), "text": body.decode(), "ctype": request.headers.get("x-k")}

    return app


if __name__ == "__main__":
    create_app.run()
