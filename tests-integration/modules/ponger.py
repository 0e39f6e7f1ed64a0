"""Answers routed messages (pywatt-comm's reply extension) from any module."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pywatt.comm.routing import router
from pywatt.core import AppState, pywatt_module


@pywatt_module()
def create_app(state: AppState[Any]) -> Starlette:
    # The app factory runs after the TCP channel connected, so the router is there.
    def pong(source: str, request_id: uuid.UUID, payload: Any) -> dict[str, Any]:
        return {"pong": payload["n"] + 1, "from": source}

    router(state).on_routed(None, pong)
    return Starlette(routes=[Route("/health", lambda request: PlainTextResponse("ok"))])


if __name__ == "__main__":
    create_app.run()
