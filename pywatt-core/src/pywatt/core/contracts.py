"""Every contract a plugin fulfils, and the typed ``register`` callable of each hook.

A plugin implements a registration hook (see :mod:`pywatt.core.hookspecs`) and calls the
``register`` it receives once per component::

    @hookimpl
    def pywatt_register_cache_backends(register: RegisterCacheBackend) -> None:
        register("acme", AcmeCache)

The component is checked against its contract right there: a wrong kind (a plain function
as a command, an encoder class instead of an instance, swapped arguments) raises a
:class:`~pywatt.core.errors.PluginError` naming the plugin, its distribution, the hook and
what was expected, and the plugin is taken out of service. A :func:`lazy` component is
checked when it is first imported.

This module holds only protocols, dataclasses and type aliases: importing it is cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
    import socket

    import anyio

    from pywatt.core.brokers import Broker, BrokerFactory

__all__ = [
    "EXACT_MATCH",
    "GENERIC_MATCH",
    "AppRunner",
    "Authenticator",
    "Broker",
    "BrokerFactory",
    "CacheBackend",
    "CacheBackendFactory",
    "CacheConfigType",
    "ChannelFactory",
    "ChannelHost",
    "Command",
    "DatabaseBackend",
    "DatabaseBackendFactory",
    "DiscoveredEndpoint",
    "Encoder",
    "HttpExchangeRequest",
    "HttpExchangeResponse",
    "Lazy",
    "ModelDialect",
    "ModuleChannel",
    "RegisterAuthenticator",
    "RegisterBroker",
    "RegisterCacheBackend",
    "RegisterChannel",
    "RegisterCommand",
    "RegisterDatabaseBackend",
    "RegisterEncoder",
    "RegisterModelDialect",
    "RegisterServerAdapter",
    "ServerAdapter",
    "SocketLimits",
    "lazy",
]


# The broker contract lives in pywatt.core.brokers; re-exported here on first use, so that
# plugin discovery (which imports this module) does not load it in a module with no broker.
__getattr__, __dir__, _ = lazy_exports(
    __name__, {"pywatt.core.brokers": "Broker BrokerFactory"}, __all__
)


# -- lazy components ------------------------------------------------------------------------


@dataclass(frozen=True)
class Lazy:
    """A component named by its import path and imported on first lookup.

    Registering ``lazy("pkg.mod:Name")`` instead of the object keeps a plugin's heavy imports
    (a web framework, SQLAlchemy, a driver) out of every process that never uses it. The
    component is checked against its contract once imported.

    :param path: ``"package.module:attribute"`` (the attribute may be dotted).
    :param call: call the attribute with no arguments once imported (for instances).
    """

    path: str
    call: bool = False

    def load(self) -> Any:
        module_name, sep, attr = self.path.partition(":")
        if not sep or not module_name or not attr:
            raise ValueError(f"lazy component path {self.path!r} is not 'module:attribute'")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj() if self.call else obj


def lazy(path: str, *, call: bool = False) -> Lazy:
    """A component to register by import path; see :class:`Lazy`."""
    return Lazy(path, call)


# -- encoders -------------------------------------------------------------------------------


@runtime_checkable
class Encoder(Protocol):
    """Turns Python values into bytes and back. Register an *instance*.

    ``decode(encode(v)) == v`` for the JSON data model (``None``, bools, ints, floats, str,
    lists, str-keyed dicts); ``name`` is the registered name and ``content_type`` the MIME
    type announced with the payload. Kit: ``pywatt.core.testing.encoders.EncoderConformance``.
    """

    name: str
    content_type: str

    def encode(self, value: Any) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class RegisterEncoder(Protocol):
    """``register(name, encoder)``: an :class:`Encoder` instance, or ``lazy(..., call=True)``."""

    def __call__(self, name: str, encoder: Encoder | Lazy, /) -> None: ...


# -- channels -------------------------------------------------------------------------------


@runtime_checkable
class ChannelHost(Protocol):
    """What the runtime offers a channel."""

    @property
    def module_id(self) -> str:
        """The module's id from init."""
        ...

    async def handle_http(self, request: HttpExchangeRequest) -> HttpExchangeResponse:
        """Answer an ``http_request`` that arrived on the channel with the module's app."""
        ...

    def request_stop(self, reason: str) -> None:
        """Stop the whole module (a ``shutdown`` arrived on the channel)."""
        ...


@runtime_checkable
class ModuleChannel(Protocol):
    """One connection from the module to the orchestrator (TCP, Unix socket, ...).

    The runtime reads ``init.tcp_channel`` / ``init.ipc_channel``, builds a channel with the
    factory registered as ``"tcp"`` / ``"unix"``, connects it and runs its receive loop with a
    :class:`ChannelHost`. Framing, envelopes, heartbeats and reconnects stay in the plugin.
    """

    name: str

    async def connect(self) -> None:
        """Connect, honouring the configured timeout; raise ``ChannelError`` on failure."""
        ...

    async def run(self, host: ChannelHost) -> None:
        """Receive and handle frames until closed; reconnect on a broken connection."""
        ...

    async def aclose(self) -> None:
        """Close the connection; ``run`` returns soon after."""
        ...


#: ``factory(config)`` builds a channel from ``TcpChannelConfig``/``IpcChannelConfig``:
#: usually the channel class itself.
ChannelFactory = Callable[..., ModuleChannel]


class RegisterChannel(Protocol):
    """``register(name, factory)``: a :class:`ModuleChannel` class or factory."""

    def __call__(self, name: str, factory: ChannelFactory | Lazy, /) -> None: ...


# -- server adapters ------------------------------------------------------------------------


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


#: :meth:`ServerAdapter.supports` scores: the framework's own app class, or a generic interface.
EXACT_MATCH = 2
GENERIC_MATCH = 1


@runtime_checkable
class ServerAdapter(Protocol):
    """Serves one web framework. Register an *instance*."""

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


class RegisterServerAdapter(Protocol):
    """``register(name, adapter)``: a :class:`ServerAdapter` instance or ``lazy(.., call=True)``."""

    def __call__(self, name: str, adapter: ServerAdapter | Lazy, /) -> None: ...


# -- cache backends -------------------------------------------------------------------------


class CacheBackend(Protocol):
    """The cache a backend builds: async, bytes in and out, TTLs in seconds.

    Subclass ``pywatt.data.Cache``: it validates keys, values and TTLs, applies the
    namespace and counts hits, and leaves the ``_``-prefixed primitives to the backend.
    The semantic rules are in docs/plugin-cache-backend.md; the kit is
    ``pywatt.data.testing.CacheConformance``.
    """

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...
    async def delete(self, key: str) -> bool: ...
    async def exists(self, key: str) -> bool: ...
    async def set_nx(self, key: str, value: bytes, ttl: float | None = None) -> bool: ...
    async def get_set(self, key: str, value: bytes) -> bytes | None: ...
    async def increment(self, key: str, delta: int = 1) -> int: ...
    async def set_many(self, mapping: Mapping[str, bytes], ttl: float | None = None) -> None: ...
    async def get_many(self, keys: Iterable[str]) -> dict[str, bytes]: ...
    async def delete_many(self, keys: Iterable[str]) -> int: ...
    async def clear(self, namespace: str | None = None) -> None: ...
    async def lock(self, key: str, ttl: float) -> str | None: ...
    async def unlock(self, key: str, token: str) -> bool: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


#: ``factory(settings)`` builds a cache from ``pywatt.data.CacheSettings`` (the URL and the
#: namespace): usually the cache class itself.
CacheBackendFactory = Callable[..., CacheBackend]


class CacheConfigType(Protocol):
    """A typed configuration class (``pywatt.data.CacheConfig`` subclass), also accepted."""

    @classmethod
    def from_url(cls, url: str) -> CacheConfigType: ...

    def open(self) -> CacheBackend: ...


class RegisterCacheBackend(Protocol):
    """``register(scheme, backend)``: a cache class or factory taking ``CacheSettings``.

    A ``pywatt.data.CacheConfig`` subclass is accepted too: ``open_cache`` then builds it
    with ``from_url`` and opens it.
    """

    def __call__(
        self, scheme: str, backend: CacheBackendFactory | type[CacheConfigType] | Lazy, /
    ) -> None: ...


# -- database backends ----------------------------------------------------------------------


class DatabaseBackend(Protocol):
    """The database a backend builds: async SQL with named ``:param`` parameters.

    Subclass ``pywatt.data.Database``. Rows are mappings of column name to value. The rules
    are in docs/plugin-database-backend.md; the kit is
    ``pywatt.data.testing.DatabaseConformance``.
    """

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int: ...
    async def fetch_one(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any] | None: ...
    async def fetch_all(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[Mapping[str, Any]]: ...
    async def fetch_value(self, sql: str, params: Mapping[str, Any] | None = None) -> Any: ...
    def transaction(self) -> AbstractAsyncContextManager[Any]: ...
    async def connect(self) -> None: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


#: ``factory(settings)`` builds a database from ``pywatt.data.DatabaseSettings``: usually the
#: database class itself.
DatabaseBackendFactory = Callable[..., DatabaseBackend]


class RegisterDatabaseBackend(Protocol):
    """``register(scheme, backend)``: a database class or factory taking ``DatabaseSettings``."""

    def __call__(self, scheme: str, backend: DatabaseBackendFactory | Lazy, /) -> None: ...


# -- brokers, authenticators, model dialects, commands -------------------------------------


class RegisterBroker(Protocol):
    """``register(name, factory)``: a :class:`BrokerFactory` (with ``schemes``)."""

    def __call__(self, name: str, factory: BrokerFactory | Lazy, /) -> None: ...


@runtime_checkable
class Authenticator(Protocol):
    """What an authenticator factory builds (``pywatt.auth.Authenticator`` in full)."""

    scheme: str

    async def authenticate(self, credentials: Any) -> Any: ...

    def authenticate_sync(self, credentials: Any) -> Any: ...


class RegisterAuthenticator(Protocol):
    """``register(name, factory)``: an authenticator class or factory."""

    def __call__(self, name: str, factory: Callable[..., Authenticator] | Lazy, /) -> None: ...


class ModelDialect(Protocol):
    """A schema dialect (``pywatt.models.ModelDialect`` in full). Register an instance."""

    @property
    def name(self) -> str: ...

    @property
    def sqlalchemy_name(self) -> str: ...


class RegisterModelDialect(Protocol):
    """``register(name, dialect)``: a ``pywatt.models.ModelDialect`` instance."""

    def __call__(self, name: str, dialect: ModelDialect | Lazy, /) -> None: ...


class Command(Protocol):
    """A ``click.Command`` (``@click.command()`` or ``@click.group()`` made it)."""

    name: str | None

    def main(self, *args: Any, **kwargs: Any) -> Any: ...


class RegisterCommand(Protocol):
    """``register(name, command)``: a ``click.Command``; ``pywatt <name>`` runs it."""

    def __call__(self, name: str, command: Command | Lazy, /) -> None: ...
