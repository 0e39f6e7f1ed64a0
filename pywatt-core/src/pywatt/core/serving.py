"""The contract between the module runtime and the web-framework adapters.

The runtime owns stdin/stdout and the module's life; an adapter owns one framework. They meet
here so that neither imports the other, and so that ``import pywatt.core`` stays cheap: this
module holds only dataclasses and protocols.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pywatt.core.errors import ServerError

if TYPE_CHECKING:
    import socket

    import anyio

    from pywatt.core.plugins import Registry

__all__ = [
    "AppRunner",
    "DiscoveredEndpoint",
    "HttpExchangeRequest",
    "HttpExchangeResponse",
    "ServerAdapter",
    "SocketLimits",
]


@dataclass(frozen=True, slots=True)
class HttpExchangeRequest:
    """One HTTP-over-IPC request, as the orchestrator's ``http_request`` line carries it.

    ``uri`` is the path plus an optional query; ``headers`` is single-valued, as on the wire.
    """

    method: str
    uri: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class HttpExchangeResponse:
    """The app's answer to one :class:`HttpExchangeRequest`.

    Header names are lowercase and single-valued because the wire map is; adapters document
    how they fold repeated headers (``set-cookie`` in particular).
    """

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class DiscoveredEndpoint:
    """One route read from the app, in the shape of the ``announce`` message's endpoints."""

    path: str
    methods: tuple[str, ...]
    auth: str | None = None


@dataclass(frozen=True, slots=True)
class SocketLimits:
    """Bounds on the HTTP socket's clients; the fields of the same names in ``ServeOptions``."""

    header_timeout: float | None = 10.0
    keep_alive_timeout: float = 5.0
    limit_concurrency: int | None = None


@runtime_checkable
class AppRunner(Protocol):
    """One web app wrapped by an adapter: the runtime drives it through these calls only.

    ``startup`` runs once before the first request on either path (IPC or socket), and
    ``shutdown`` once after both have stopped.
    """

    async def startup(self) -> None:
        """Run the app's startup (the ASGI lifespan) once."""

    async def handle(
        self,
        request: HttpExchangeRequest,
        respond: Callable[[HttpExchangeResponse], Awaitable[None]] | None = None,
    ) -> HttpExchangeResponse:
        """Answer one HTTP-over-IPC request in-process; safe to call from many tasks at once.

        ``respond``, when given, is awaited once with the response as soon as the app has sent
        all of it. Work the app does after that (background tasks) keeps ``handle`` running,
        so the runtime counts it for draining.
        """
        ...

    async def serve(
        self,
        sock: socket.socket,
        *,
        stop: anyio.Event,
        drain_timeout: float = 10.0,
        limits: SocketLimits | None = None,
    ) -> None:
        """Serve HTTP on an already listening socket until ``stop`` is set, then drain.

        Return once the requests in flight, background work included, have finished, and at
        the latest ``drain_timeout`` seconds after ``stop`` is set.
        """

    async def shutdown(self) -> None:
        """Run the app's shutdown (the ASGI lifespan) and framework teardown once."""

    def endpoints(self) -> list[DiscoveredEndpoint]:
        """The app's routes, so the module need not list them twice in its announce."""
        ...


@runtime_checkable
class ServerAdapter(Protocol):
    """Serves one web framework; registered through ``pywatt_register_server_adapters``."""

    name: str

    def supports(self, app: object) -> bool | int:
        """How well this adapter serves ``app``; it must not import its framework eagerly.

        ``True`` (or :data:`EXACT_MATCH`): ``app`` is this framework's own app class.
        :data:`GENERIC_MATCH`: ``app`` only fits a generic interface (any ASGI callable).
        ``False``/``0``: no. The best match wins, so a third-party adapter for an ASGI
        framework is chosen over the generic ASGI one; ties go to the first name.
        """
        ...

    def wrap(self, app: object) -> AppRunner:
        """Wrap ``app`` once; the runner is then used for every request."""
        ...


#: :meth:`ServerAdapter.supports` scores: the framework's own app class, or a generic interface.
EXACT_MATCH = 2
GENERIC_MATCH = 1
# Frameworks pywatt-server serves, and the extra that brings each in.
_SHIPPED = {"starlette": "starlette", "fastapi": "starlette", "flask": "flask"}


def choose_adapter(registry: Registry[Any], app: object, name: str | None = None) -> Any:
    """The adapter named ``name``, else the installed one that matches ``app`` best."""
    if name is not None:
        return registry.get(name)
    best: Any = None
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
