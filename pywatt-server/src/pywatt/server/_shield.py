"""The error shield wrapped around every app, on the IPC path and on the socket alike.

The app's own responses, error responses included, pass through unchanged and at once: a
framework's 500 page or a user's ``exception_handler`` is the app's answer. pywatt writes its
JSON 500 only when the app produced no response at all (it raised, or returned, before
``http.response.start``). An exception raised after the response is complete (Starlette
sends its 500 and then re-raises) is logged once and goes no further, so the socket keeps the
connection and the IPC path keeps the reply.
"""

from __future__ import annotations

import logging
from typing import Any

from pywatt.core._bodies import error_body
from pywatt.core.serving import HttpExchangeResponse
from pywatt.server._types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("pywatt.server")

INTERNAL_ERROR_BODY = error_body("Internal Server Error")


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


class _Progress:
    """How far one response has got: started, and complete."""

    __slots__ = ("complete", "send_downstream", "started")

    def __init__(self, send: Send) -> None:
        self.send_downstream = send
        self.started = False
        self.complete = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.started = True
        elif kind == "http.response.body" and not message.get("more_body", False):
            self.complete = True
        await self.send_downstream(message)


class ErrorShield:
    """ASGI middleware: lifespan state into each request, and JSON 500s for no response."""

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
        progress = _Progress(send)
        try:
            await self.app(scope, receive, progress.send)
        except Exception:
            logger.exception(
                "unhandled exception in app for %s %s", scope.get("method"), scope.get("path")
            )
            if progress.complete:
                return  # the app's own error response already went out
            if progress.started:
                raise  # headers already left; the server closes the connection
            await send_error(send, 500, "Internal Server Error")
            return
        if not progress.started:
            logger.error(
                "app returned without sending a response for %s %s",
                scope.get("method"),
                scope.get("path"),
            )
            await send_error(send, 500, "Internal Server Error")
