"""The error shield wrapped around every app, on the IPC path and on the socket alike.

It makes both paths answer the same way when the app fails: an unhandled exception, or an app
that returns without answering, becomes pywatt's JSON 500 with one logged error. A response
whose status is already 500 is held back until the app returns, because frameworks such as
Starlette send their own plain-text 500 *before* re-raising; if the app then raises, the held
response is replaced. Any other response goes out as it is produced.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pywatt.core.serving import HttpExchangeResponse
from pywatt.server._types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("pywatt.server")

INTERNAL_ERROR_BODY = b'{"status":"error","data":null,"message":"Internal Server Error"}'


def error_body(message: str) -> bytes:
    """The JSON error envelope pywatt modules answer with (same shape as the Rust SDK's)."""
    return json.dumps(
        {"status": "error", "data": None, "message": message}, separators=(",", ":")
    ).encode()


def error_response(status: int, message: str) -> HttpExchangeResponse:
    body = INTERNAL_ERROR_BODY if status == 500 else error_body(message)
    return HttpExchangeResponse(
        status,
        {"content-type": "application/json", "content-length": str(len(body))},
        body,
    )


async def send_error(send: Send, status: int, message: str) -> None:
    response = error_response(status, message)
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})


class _Reply:
    """Tracks one response through the shield."""

    __slots__ = ("held", "passed_through", "send_downstream", "started")

    def __init__(self, send: Send) -> None:
        self.send_downstream = send
        self.started = False
        self.passed_through = False
        self.held: list[Message] | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start" and not self.started:
            self.started = True
            if message.get("status") == 500:
                self.held = [message]
                return
            self.passed_through = True
        elif self.held is not None:
            self.held.append(message)
            return
        await self.send_downstream(message)


class ErrorShield:
    """ASGI middleware: lifespan state into each request, and failures into JSON 500s."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "lifespan":
            # Shallow copy per request, as ASGI servers do with the lifespan state.
            scope["state"] = dict(self.state)
        if kind != "http":
            await self.app(scope, receive, send)
            return
        reply = _Reply(send)
        try:
            await self.app(scope, receive, reply.send)
        except Exception:
            if reply.passed_through:
                raise  # headers already left; the server reports it and closes
            logger.exception(
                "unhandled exception in app for %s %s", scope.get("method"), scope.get("path")
            )
            await send_error(send, 500, "Internal Server Error")
            return
        if reply.held is not None:
            for message in reply.held:
                await send(message)
        elif not reply.started:
            logger.error(
                "app returned without sending a response for %s %s",
                scope.get("method"),
                scope.get("path"),
            )
            await send_error(send, 500, "Internal Server Error")
