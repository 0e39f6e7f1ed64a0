"""An items service written with FastAPI; ``items_flask.py`` is the same module in Flask.

Run it as an orchestrator would, ``python examples/items/items_fastapi.py`` (it speaks the
protocol on stdin/stdout), or under the dev orchestrator:
``pywatt run examples/items/items_fastapi.py``.
"""

from __future__ import annotations

import itertools
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response

from pywatt.core import AppState
from pywatt.server import serve_module


def create_app(state: AppState[Any]) -> FastAPI:
    app = FastAPI()
    items: dict[int, dict[str, Any]] = {}
    ids = itertools.count(1)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "OK", "module": state.module_id}

    @app.get("/items")
    async def list_items(prefix: str = "") -> list[dict[str, Any]]:
        return [i for i in items.values() if i["name"].startswith(prefix)]

    @app.post("/items", status_code=201)
    async def create_item(request: Request) -> dict[str, Any]:
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise HTTPException(status_code=422, detail="name must be a string")
        item = {"id": next(ids), "name": body["name"]}
        items[item["id"]] = item
        return item

    @app.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, Any]:
        if item_id not in items:
            raise HTTPException(status_code=404, detail="no such item")
        return items[item_id]

    @app.post("/echo")
    async def echo(request: Request) -> Response:
        data = await request.body()
        return Response(
            content=data,
            media_type="application/octet-stream",
            headers={"x-echo-length": str(len(data))},
        )

    return app


if __name__ == "__main__":
    serve_module(create_app)
