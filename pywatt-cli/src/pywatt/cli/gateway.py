"""The front HTTP proxy of ``pywatt run``: ``/<module_id>/<rest>`` goes to that module.

A raw ASGI app, so the dev orchestrator needs no web framework. Each module sits behind a
:class:`Forwarder`, which carries one request over IPC (stdio) or to the module's own socket.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

__all__ = [
    "HOP_BY_HOP",
    "ForwardError",
    "Forwarder",
    "HttpForwarder",
    "IpcForwarder",
    "ModuleHandleLike",
    "ProxyApp",
    "ProxyResponse",
]

logger = logging.getLogger("pywatt.cli.gateway")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Headers that describe one connection, not the message (RFC 9110 §7.6.1): never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class ForwardError(Exception):
    """The module could not be reached or did not answer; the proxy answers 502."""


@dataclass(frozen=True)
class ProxyResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class ModuleHandleLike(Protocol):
    """What the proxy needs from an orchestrator's module handle."""

    @property
    def module_id(self) -> str: ...

    @property
    def exit_code(self) -> int | None: ...

    @property
    def running(self) -> bool: ...

    async def http(
        self,
        method: str,
        uri: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        timeout: float = 30,
    ) -> Any: ...


class Forwarder(Protocol):
    """Carries one request to one module."""

    @property
    def alive(self) -> bool: ...

    async def forward(
        self, method: str, uri: str, headers: dict[str, str], body: bytes
    ) -> ProxyResponse: ...

    def describe(self) -> dict[str, Any]: ...


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    """Accept a mapping or a list of pairs; return pairs (multi-valued headers stay apart)."""
    if headers is None:
        return []
    items: Iterable[Any] = headers.items() if isinstance(headers, Mapping) else headers
    pairs: list[tuple[str, str]] = []
    for name, value in items:
        if isinstance(value, list | tuple):
            pairs.extend((str(name), str(v)) for v in value)
        else:
            pairs.append((str(name), str(value)))
    return pairs


def _endpoints(handle: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for endpoint in getattr(handle, "endpoints", None) or []:
        if isinstance(endpoint, Mapping):
            out.append({"path": endpoint.get("path"), "methods": endpoint.get("methods", [])})
        else:
            path, methods = getattr(endpoint, "path", None), getattr(endpoint, "methods", [])
            out.append({"path": path, "methods": list(methods)})
    return out


def _pid(handle: Any) -> int | None:
    pid = getattr(handle, "pid", None)
    return pid if isinstance(pid, int) else None


class IpcForwarder:
    """Over the module's stdin/stdout (``http_request`` / ``http_response``)."""

    def __init__(self, handle: ModuleHandleLike, *, timeout: float = 30.0) -> None:
        self.handle = handle
        self.timeout = timeout

    @property
    def alive(self) -> bool:
        return self.handle.running

    async def forward(
        self, method: str, uri: str, headers: dict[str, str], body: bytes
    ) -> ProxyResponse:
        from pywatt.core.errors import PyWattError

        try:
            resp = await self.handle.http(method, uri, headers, body, timeout=self.timeout)
        except (PyWattError, OSError) as exc:
            raise ForwardError(f"{type(exc).__name__}: {exc}") from exc
        return ProxyResponse(int(resp.status), _header_pairs(resp.headers), bytes(resp.body or b""))

    def describe(self) -> dict[str, Any]:
        return {"via": "ipc", "pid": _pid(self.handle), "endpoints": _endpoints(self.handle)}


class HttpForwarder:
    """To the socket the module announced, with httpx (TCP ``host:port`` or a Unix path)."""

    def __init__(self, handle: ModuleHandleLike, *, timeout: float = 30.0) -> None:
        import httpx

        self.handle = handle
        address = getattr(handle, "http_address", None)
        if isinstance(address, tuple):
            host, port = address
            transport = httpx.AsyncHTTPTransport()
            self.base_url = f"http://{host}:{port}"
        elif isinstance(address, str) and address:
            transport = httpx.AsyncHTTPTransport(uds=address)
            self.base_url = "http://module"
        else:
            raise ForwardError(f"module {handle.module_id!r} serves no HTTP socket (IPC only?)")
        self.address = address
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)

    @property
    def alive(self) -> bool:
        return self.handle.running

    async def forward(
        self, method: str, uri: str, headers: dict[str, str], body: bytes
    ) -> ProxyResponse:
        import httpx

        try:
            resp = await self._client.request(
                method, self.base_url + uri, headers=headers, content=body
            )
        except httpx.HTTPError as exc:
            raise ForwardError(f"{type(exc).__name__}: {exc}") from exc
        return ProxyResponse(resp.status_code, list(resp.headers.multi_items()), resp.content)

    def describe(self) -> dict[str, Any]:
        address = self.address
        shown = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else address
        return {
            "via": "http",
            "address": shown,
            "pid": _pid(self.handle),
            "endpoints": _endpoints(self.handle),
        }

    async def aclose(self) -> None:
        await self._client.aclose()


def _json(status: int, payload: object) -> ProxyResponse:
    body = json.dumps(payload, indent=2).encode() + b"\n"
    return ProxyResponse(status, [("content-type", "application/json")], body)


def _request_headers(raw: Iterable[tuple[bytes, bytes]], scope: Scope) -> dict[str, str]:
    """Merge the client's headers for the module, dropping hop-by-hop ones."""
    pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]
    drop = set(HOP_BY_HOP) | {"host", "content-length"}
    for name, value in pairs:
        if name == "connection":
            drop.update(token.strip().lower() for token in value.split(","))
    merged: dict[str, str] = {}
    for name, value in pairs:
        if name in drop:
            continue
        sep = "; " if name == "cookie" else ", "
        merged[name] = f"{merged[name]}{sep}{value}" if name in merged else value
    host = dict(pairs).get("host")
    if host:
        merged["x-forwarded-host"] = host
    client = scope.get("client")
    if client:
        prior = merged.get("x-forwarded-for")
        merged["x-forwarded-for"] = f"{prior}, {client[0]}" if prior else str(client[0])
    merged["x-forwarded-proto"] = str(scope.get("scheme", "http"))
    return merged


def _response_headers(pairs: list[tuple[str, str]], body: bytes) -> list[tuple[bytes, bytes]]:
    drop = set(HOP_BY_HOP) | {"content-length"}
    for name, value in pairs:
        if name.lower() == "connection":
            drop.update(token.strip().lower() for token in value.split(","))
    out = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in pairs
        if name.lower() not in drop
    ]
    out.append((b"content-length", str(len(body)).encode()))
    return out


class ProxyApp:
    """ASGI app routing ``/<module_id>/<rest>`` to the module's forwarder as ``/<rest>``.

    ``routes`` is live: ``pywatt run --reload`` swaps a module's forwarder in place.
    """

    def __init__(self, routes: dict[str, Forwarder], *, base_url: str = "") -> None:
        self.routes = routes
        self.base_url = base_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"pywatt's proxy serves only HTTP, not {scope['type']!r}")
        body = await _read_body(receive)
        response = await self.dispatch(scope, body)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": _response_headers(response.headers, response.body),
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    async def dispatch(self, scope: Scope, body: bytes) -> ProxyResponse:
        raw_path: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
        path = raw_path.decode("latin-1")
        if path in ("", "/"):
            return _json(200, self.listing())
        module_id, _, rest = path.lstrip("/").partition("/")
        forwarder = self.routes.get(module_id)
        if forwarder is None:
            return _json(
                404,
                {
                    "error": f"no module {module_id!r}",
                    "modules": sorted(self.routes),
                },
            )
        if not forwarder.alive:
            return _json(502, {"error": f"module {module_id!r} is not running"})
        query: bytes = scope.get("query_string") or b""
        uri = "/" + rest + ("?" + query.decode("latin-1") if query else "")
        headers = _request_headers(scope.get("headers", []), scope)
        headers["x-forwarded-prefix"] = "/" + module_id
        try:
            return await forwarder.forward(scope["method"], uri, headers, body)
        except ForwardError as exc:
            logger.warning("module %s: %s", module_id, exc)
            return _json(502, {"error": f"module {module_id!r} did not answer: {exc}"})

    def listing(self) -> dict[str, Any]:
        modules = {}
        for module_id, forwarder in sorted(self.routes.items()):
            info = forwarder.describe()
            info["url"] = f"{self.base_url}/{module_id}/"
            info["running"] = forwarder.alive
            modules[module_id] = info
        return {"modules": modules}


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
