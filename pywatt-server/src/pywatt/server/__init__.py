"""pywatt-server: serve Starlette/FastAPI or Flask apps over HTTP-over-IPC and a socket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
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
    from pywatt.server.serve import ServeOptions, serve_module

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
_LAZY: dict[str, str] = {
    "AppRunner": "pywatt.core.serving",
    "DiscoveredEndpoint": "pywatt.core.serving",
    "HttpExchangeRequest": "pywatt.core.serving",
    "HttpExchangeResponse": "pywatt.core.serving",
    "ServerAdapter": "pywatt.core.serving",
    "SocketLimits": "pywatt.core.serving",
    "FlaskAdapter": "pywatt.server.adapters",
    "FlaskRunner": "pywatt.server.adapters",
    "StarletteAdapter": "pywatt.server.adapters",
    "select_adapter": "pywatt.server.adapters",
    "AsgiRunner": "pywatt.server.asgi",
    "fold_headers": "pywatt.server.asgi",
    "AUTH_ATTRIBUTE": "pywatt.server.discovery",
    "flask_endpoints": "pywatt.server.discovery",
    "requires_auth": "pywatt.server.discovery",
    "starlette_endpoints": "pywatt.server.discovery",
    "bind_listener": "pywatt.server.http",
    "listener_address": "pywatt.server.http",
    "serve_asgi": "pywatt.server.http",
    "ServeOptions": "pywatt.server.serve",
    "serve_module": "pywatt.server.serve",
}

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
    "flask_endpoints",
    "fold_headers",
    "listener_address",
    "requires_auth",
    "select_adapter",
    "serve_asgi",
    "serve_module",
    "starlette_endpoints",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
