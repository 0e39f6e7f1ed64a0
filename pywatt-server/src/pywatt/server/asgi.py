"""The runner for ASGI apps: in-process HTTP-over-IPC dispatch, lifespan, and serving.

``handle()`` builds the ASGI ``http`` scope straight from the IPC request and collects the
app's messages: no socket and no HTTP parsing. Everything here runs on asyncio, because
uvicorn and a2wsgi do.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from pywatt.core.errors import ConfigError
from pywatt.core.serving import (
    DiscoveredEndpoint,
    HttpExchangeRequest,
    HttpExchangeResponse,
    SocketLimits,
)
from pywatt.server._lifespan import Lifespan
from pywatt.server._shield import ErrorShield, error_response, logger
from pywatt.server._types import ASGIApp, Message, Scope

if TYPE_CHECKING:
    import socket

    import anyio

    from pywatt.core.health import Operations

__all__ = ["AsgiRunner", "fold_headers"]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_URI = re.compile(r"[\x21-\x7e]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_ASGI = {"version": "3.0", "spec_version": "2.3"}
_DISCONNECT: Message = {"type": "http.disconnect"}

#: Called once with the response as soon as it is complete (see ``AppRunner.handle``).
Respond = Callable[[HttpExchangeResponse], Awaitable[None]]


class _BadRequestError(Exception):
    pass


def fold_headers(raw: list[tuple[bytes, bytes]] | list[Any]) -> dict[str, str]:
    """Fold ASGI response headers into the wire's single-valued map.

    Names are lowercased and a repeated header keeps its last value, as the Rust SDK does,
    except ``set-cookie``: its values are joined with ``", "`` (RFC 9110 list syntax) so that no
    cookie is lost. Each joined cookie starts with ``name=``, which tells the joins apart from
    the comma inside an ``Expires`` date.
    """
    headers: dict[str, str] = {}
    for name, value in raw:
        key = bytes(name).decode("latin-1").lower()
        text = bytes(value).decode("latin-1")
        if key == "set-cookie" and key in headers:
            headers[key] = f"{headers[key]}, {text}"
        else:
            headers[key] = text
    return headers


def _target(uri: object) -> tuple[str, str]:
    if not isinstance(uri, str) or not _URI.fullmatch(uri):
        raise _BadRequestError(f"invalid URI {uri!r}")
    if uri.startswith("/"):
        target = uri
    elif uri.startswith(("http://", "https://")):
        parts = urlsplit(uri)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    else:
        raise _BadRequestError(f"invalid URI {uri!r}: expected a path starting with '/'")
    path, _, query = target.partition("#")[0].partition("?")
    return path, query


def build_scope(request: HttpExchangeRequest) -> Scope:
    """The ASGI ``http`` scope for one IPC request; raises ``_BadRequestError`` on bad input."""
    method = request.method
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise _BadRequestError(f"invalid method {method!r}")
    path, query = _target(request.uri)
    headers: list[tuple[bytes, bytes]] = []
    declared_length = False
    for name, value in request.headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise _BadRequestError(f"invalid header name {name!r}")
        if not isinstance(value, str) or _BAD_VALUE.search(value):
            raise _BadRequestError(f"invalid value for header {name!r}")
        try:
            raw_value = value.encode("latin-1")
        except UnicodeEncodeError:
            raise _BadRequestError(f"header {name!r} is not latin-1") from None
        key = name.lower()
        if key in ("content-length", "transfer-encoding"):
            # The body arrives whole, so its real length replaces whatever was declared.
            declared_length = True
            continue
        headers.append((key.encode("ascii"), raw_value))
    if request.body or declared_length:
        headers.append((b"content-length", str(len(request.body)).encode("ascii")))
    return {
        "type": "http",
        "asgi": _ASGI,
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path) if "%" in path else path,
        "raw_path": path.encode("ascii"),
        "query_string": query.encode("ascii"),
        "root_path": "",
        "headers": headers,
        # Placeholders: the request came over IPC from the local orchestrator.
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 0),
    }


class _Exchange:
    """Feeds one request body to the app, collects its response, and replies when it ends.

    The reply goes out as soon as the app sends its final body chunk (``more_body: False``),
    as a socket server would send it; work the app does after that (background tasks) runs on
    while the exchange waits for the app to return. A ``HEAD`` response keeps the app's
    headers, ``content-length`` included, and loses its body (RFC 9110 section 9.3.2).
    """

    __slots__ = (
        "body",
        "body_sent",
        "chunks",
        "closed",
        "complete",
        "done",
        "head",
        "headers",
        "replied",
        "respond",
        "result",
        "status",
    )

    def __init__(self, body: bytes, *, head: bool, respond: Respond | None) -> None:
        self.body = body
        self.body_sent = False
        self.head = head
        self.respond = respond
        self.replied = False
        self.status: int | None = None
        self.headers: Any = ()
        self.chunks: list[bytes] = []
        self.complete = False
        self.closed = False
        self.done: asyncio.Event | None = None
        self.result: HttpExchangeResponse | None = None

    async def receive(self) -> Message:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        # Like a client that stays connected: disconnect only once the response is out.
        if not self.closed:
            if self.done is None:
                self.done = asyncio.Event()
            await self.done.wait()
        return _DISCONNECT

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if self.status is None or self.complete:
                raise RuntimeError("ASGI body sent before the response start or after its end")
            chunk = message.get("body", b"")
            if chunk and not self.head:
                self.chunks.append(chunk)
            if not message.get("more_body", False):
                self.complete = True
                self.close()
                if self.respond is not None:
                    await self.reply(self.response())
        elif kind == "http.response.start":
            if self.status is not None:
                raise RuntimeError("ASGI response started twice")
            self.status = int(message["status"])
            self.headers = message.get("headers", ())
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")

    async def reply(self, response: HttpExchangeResponse) -> None:
        if self.respond is not None and not self.replied:
            self.replied = True
            await self.respond(response)

    def close(self) -> None:
        self.closed = True
        if self.done is not None:
            self.done.set()

    def response(self) -> HttpExchangeResponse:
        """The collected response, built once (the body is joined once, however large)."""
        if self.result is None:
            assert self.status is not None
            body = b"".join(self.chunks)
            self.chunks = []
            self.result = HttpExchangeResponse(self.status, fold_headers(self.headers), body)
        return self.result


class AsgiRunner:
    """Runs one ASGI app for the module runtime (see :class:`pywatt.core.serving.AppRunner`)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        discover: Callable[[], list[DiscoveredEndpoint]] | None = None,
        enforced: Callable[[], list[DiscoveredEndpoint]] | None = None,
    ) -> None:
        self.app = app
        self._enforced = enforced
        self.state: dict[str, Any] = {}
        self._shielded: ASGIApp = ErrorShield(app, self.state)
        self._discover = discover
        self._lifespan: Lifespan | None = None
        self._shut_down = False

    async def startup(self) -> None:
        if self._lifespan is None:
            self._lifespan = Lifespan(self.app, self.state)
            await self._lifespan.startup()

    async def shutdown(self) -> None:
        if self._shut_down:
            return
        self._shut_down = True
        try:
            if self._lifespan is not None:
                await self._lifespan.shutdown()
        finally:
            await self._teardown()

    async def _teardown(self) -> None:
        """Framework teardown after the lifespan has ended; subclasses extend it."""

    async def handle(
        self, request: HttpExchangeRequest, respond: Respond | None = None
    ) -> HttpExchangeResponse:
        try:
            scope = build_scope(request)
        except _BadRequestError as exc:
            response = error_response(400, f"Bad Request: {exc}")
            if respond is not None:
                await respond(response)
            return response
        exchange = _Exchange(request.body, head=scope["method"] == "HEAD", respond=respond)
        try:
            # What escapes the shield is a response that started but did not finish (which a
            # socket server would cut off); the shield has logged it.
            with contextlib.suppress(Exception):
                await self._shielded(scope, exchange.receive, exchange.send)
        finally:
            exchange.close()
        if exchange.complete:
            return exchange.response()
        logger.error("app did not complete its response for %s %s", request.method, request.uri)
        response = error_response(500, "Internal Server Error")
        await exchange.reply(response)
        return response

    async def serve(
        self,
        sock: socket.socket,
        *,
        stop: anyio.Event,
        drain_timeout: float = 10.0,
        limits: SocketLimits | None = None,
    ) -> None:
        from pywatt.server.http import serve_asgi

        await serve_asgi(
            self._shielded, sock, stop=stop, drain_timeout=drain_timeout, limits=limits
        )

    def endpoints(self) -> list[DiscoveredEndpoint]:
        return self._discover() if self._discover is not None else []

    def serve_operations(self, ops: Operations) -> list[DiscoveredEndpoint]:
        """Serve ``/health``, ``/ready``, ``/metrics`` and the route prefix around the app.

        Returns the operations routes served, for the announce.
        """
        from pywatt.server.operations import serve_operations

        self._shielded, served = serve_operations(self._shielded, ops, self.endpoints)
        return served

    def check_announced(self, announced: Sequence[Any]) -> None:
        """Refuse to start when an endpoint is announced with ``auth`` nothing enforces."""
        claimed = [(e.path, e.auth) for e in announced if getattr(e, "auth", None)]
        if not claimed:
            return
        found = self._enforced() if self._enforced is not None else []
        enforced = {(e.path, e.auth) for e in found}
        missing = [
            f"{path} (auth {auth!r})" for path, auth in claimed if (path, auth) not in enforced
        ]
        if missing:
            raise ConfigError(
                "announced as protected but nothing protects: "
                + ", ".join(missing)
                + ". Protect them with pywatt-auth (require_jwt, @jwt_required, protect) "
                "or announce them without auth."
            )
