"""Routes a message to ``ponger`` when asked over HTTP, and returns its answer."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pywatt.comm.routing import router
from pywatt.core import AppState, pywatt_module


@pywatt_module()
def create_app(state: AppState[Any]) -> Starlette:
    async def ping(request: Request) -> JSONResponse:
        n = int(request.query_params.get("n", "1"))
        answer = await router(state).route("ponger", "ping", {"n": n}, timeout=10)
        return JSONResponse(answer)

    return Starlette(routes=[Route("/ping", ping)])


if __name__ == "__main__":
    create_app.run()
