"""A Starlette module for the end-to-end tests: secrets, rotation, echo and the service proxy."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pywatt.core import AppState, pywatt_module


@pywatt_module(secrets=["API_KEY"])
def create_app(state: AppState[Any]) -> Starlette:
    secrets = state.extensions["secrets"]
    services = state.extensions["services"]
    rotations: list[list[str]] = []

    async def on_rotated(keys: list[str]) -> None:
        rotations.append(keys)
        await secrets.get("API_KEY")  # re-fetch now, as a module that holds a client would

    secrets.subscribe(on_rotated)

    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"module": state.config.module_id})

    async def key(request: Request) -> JSONResponse:
        value = await secrets.get("API_KEY")
        return JSONResponse({"key": value.expose(), "rotations": rotations})

    async def echo(request: Request) -> Response:
        body = await request.body()
        return Response(body, status_code=201, headers={"x-echo": request.headers.get("x-in", "")})

    async def db(request: Request) -> JSONResponse:
        conn = await services.connect("Database")
        op = services.operation
        await op(
            conn, "Database", "execute", {"query": "CREATE TABLE IF NOT EXISTS t (v)", "params": []}
        )
        await op(
            conn,
            "Database",
            "execute",
            {"query": "INSERT INTO t VALUES (?)", "params": [request.query_params["v"]]},
        )
        rows = await op(conn, "Database", "query", {"query": "SELECT v FROM t", "params": []})
        return JSONResponse({"rows": rows})

    return Starlette(
        routes=[
            Route("/hello", hello),
            Route("/key", key),
            Route("/echo", echo, methods=["POST"]),
            Route("/db", db),
        ]
    )


if __name__ == "__main__":
    create_app.run()
