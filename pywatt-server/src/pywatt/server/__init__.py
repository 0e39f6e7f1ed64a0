"""pywatt-server: serve Starlette/FastAPI or Flask apps over HTTP-over-IPC and a socket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
    from pywatt.core.serving import (
        AppRunner as AppRunner,
        DiscoveredEndpoint as DiscoveredEndpoint,
        HttpExchangeRequest as HttpExchangeRequest,
        HttpExchangeResponse as HttpExchangeResponse,
        ServerAdapter as ServerAdapter,
        SocketLimits as SocketLimits,
    )
    from pywatt.server.adapters import (
        FlaskAdapter as FlaskAdapter,
        FlaskRunner as FlaskRunner,
        StarletteAdapter as StarletteAdapter,
        select_adapter as select_adapter,
    )
    from pywatt.server.asgi import AsgiRunner as AsgiRunner, fold_headers as fold_headers
    from pywatt.server.discovery import (
        AUTH_ATTRIBUTE as AUTH_ATTRIBUTE,
        flask_endpoints as flask_endpoints,
        requires_auth as requires_auth,
        starlette_endpoints as starlette_endpoints,
    )
    from pywatt.server.http import (
        bind_listener as bind_listener,
        listener_address as listener_address,
        serve_asgi as serve_asgi,
    )
    from pywatt.server.serve import ServeOptions as ServeOptions, serve_module as serve_module

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "pywatt.core.serving": (
            "AppRunner DiscoveredEndpoint HttpExchangeRequest HttpExchangeResponse ServerAdapter "
            "SocketLimits"
        ),
        "pywatt.server.adapters": "FlaskAdapter FlaskRunner select_adapter StarletteAdapter",
        "pywatt.server.asgi": "AsgiRunner fold_headers",
        "pywatt.server.discovery": (
            "AUTH_ATTRIBUTE flask_endpoints requires_auth starlette_endpoints"
        ),
        "pywatt.server.http": "bind_listener listener_address serve_asgi",
        "pywatt.server.serve": "serve_module ServeOptions",
    },
)
