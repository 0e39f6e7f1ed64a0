"""Choosing the server adapter for an app.

The adapter contract (:class:`ServerAdapter`, :class:`AppRunner` and the exchange types) is
in :mod:`pywatt.core.contracts`; its names are re-exported here for older imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.contracts import (
    EXACT_MATCH,
    GENERIC_MATCH,
    AppRunner,
    DiscoveredEndpoint,
    HttpExchangeRequest,
    HttpExchangeResponse,
    ServerAdapter,
    SocketLimits,
)
from pywatt.core.errors import ServerError

if TYPE_CHECKING:
    from pywatt.core.plugins import Registry

__all__ = [
    "EXACT_MATCH",
    "GENERIC_MATCH",
    "AppRunner",
    "DiscoveredEndpoint",
    "HttpExchangeRequest",
    "HttpExchangeResponse",
    "ServerAdapter",
    "SocketLimits",
    "choose_adapter",
]


# Frameworks pywatt-server serves, and the extra that brings each in.
_SHIPPED = {"starlette": "starlette", "fastapi": "starlette", "flask": "flask"}


def choose_adapter(
    registry: Registry[ServerAdapter], app: object, name: str | None = None
) -> ServerAdapter:
    """The adapter named ``name``, else the installed one that matches ``app`` best."""
    if name is not None:
        return registry.get(name)
    best: ServerAdapter | None = None
    best_score = 0
    for _name, adapter in registry.items():
        result = adapter.supports(app)
        score = EXACT_MATCH if result is True else int(result or 0)
        if score > best_score:
            best, best_score = adapter, score
    if best is None:
        kind = f"{type(app).__module__}.{type(app).__qualname__}"
        installed = ", ".join(registry.names()) or "none"
        message = f"no server adapter serves {kind}; installed adapters: {installed}"
        extra = _SHIPPED.get(type(app).__module__.partition(".")[0])
        if extra is not None:
            message += f". Install pywatt-server[{extra}] to serve it"
        raise ServerError(message)
    return best
