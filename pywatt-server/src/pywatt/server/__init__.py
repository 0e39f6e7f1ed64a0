"""pywatt-server: serve Starlette/FastAPI or Flask apps over HTTP-over-IPC and a socket."""

from __future__ import annotations

from pywatt.core.serving import (
    AppRunner,
    DiscoveredEndpoint,
    HttpExchangeRequest,
    HttpExchangeResponse,
    ServerAdapter,
    SocketLimits,
)
from pywatt.server.adapters import FlaskAdapter, FlaskRunner, StarletteAdapter, select_adapter
from pywatt.server.asgi import AsgiRunner, fold_headers
from pywatt.server.discovery import (
    AUTH_ATTRIBUTE,
    flask_endpoints,
    requires_auth,
    starlette_endpoints,
)
from pywatt.server.http import bind_listener, listener_address, serve_asgi
from pywatt.server.serve import ServeOptions, build_module, serve_module

__all__ = [
    "AUTH_ATTRIBUTE",
    "AppRunner",
    "AsgiRunner",
    "DiscoveredEndpoint",
    "FlaskAdapter",
    "FlaskRunner",
    "HttpExchangeRequest",
    "HttpExchangeResponse",
    "ServeOptions",
    "ServerAdapter",
    "SocketLimits",
    "StarletteAdapter",
    "bind_listener",
    "build_module",
    "flask_endpoints",
    "fold_headers",
    "listener_address",
    "requires_auth",
    "select_adapter",
    "serve_asgi",
    "serve_module",
    "starlette_endpoints",
]
