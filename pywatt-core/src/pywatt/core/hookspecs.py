"""The hooks every pywatt plugin can implement.

Registration hooks run once, when the registries are first built. Each receives its own
typed ``register(name, component)`` callable (:mod:`pywatt.core.contracts`); the plugin calls
it once per component it provides, and a component of the wrong kind fails right there.
Registration hooks are plain functions: ``wrapper=True`` and ``async def`` are refused.
Per-message work never goes through pluggy: callers build a component once and keep it.

Lifecycle hooks run at the three points of a module's life and must return quickly; they may
be ``async def`` (the runtime awaits them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pywatt.core.config import AppConfig
    from pywatt.core.contracts import (
        RegisterAuthenticator,
        RegisterBroker,
        RegisterCacheBackend,
        RegisterChannel,
        RegisterCommand,
        RegisterDatabaseBackend,
        RegisterEncoder,
        RegisterModelDialect,
        RegisterServerAdapter,
    )
    from pywatt.core.state import AppState

hookspec = pluggy.HookspecMarker("pywatt")
#: Marks a plugin's hook implementations; exported as ``pywatt.core.hookimpl``. It lives here,
#: beside ``hookspec``, so ``import pywatt.core`` does not load the registries and contracts.
hookimpl = pluggy.HookimplMarker("pywatt")

#: The untyped ``register`` of earlier releases, kept so that their plugins still import;
#: annotate with the hook's own type instead (``RegisterCacheBackend``, ...).
Register = Callable[[str, Any], None]


@hookspec
def pywatt_register_channels(register: RegisterChannel) -> None:
    """Register channel factories (stdio, tcp, unix, ...).

    :param register: call ``register(name, factory)`` once per channel; ``factory`` builds a
        channel object from its configuration.
    """


@hookspec
def pywatt_register_encoders(register: RegisterEncoder) -> None:
    """Register payload encoders (json, msgpack, ...).

    :param register: call ``register(name, encoder)`` once per encoder; ``encoder`` is an
        instance with ``name``, ``content_type``, ``encode(obj) -> bytes`` and
        ``decode(data) -> object``.
    """


@hookspec
def pywatt_register_database_backends(register: RegisterDatabaseBackend) -> None:
    """Register database backends (sqlite, postgres, mysql, proxy, ...) by URL scheme.

    :param register: call ``register(scheme, backend)`` once per backend; ``backend`` is a
        ``pywatt.data.Database`` subclass or a factory, called with ``DatabaseSettings``.
    """


@hookspec
def pywatt_register_cache_backends(register: RegisterCacheBackend) -> None:
    """Register cache backends (memory, file, redis, memcached, proxy, ...) by URL scheme.

    :param register: call ``register(scheme, backend)`` once per backend; ``backend`` is a
        ``pywatt.data.Cache`` subclass or a factory, called with ``CacheSettings``, or a
        ``pywatt.data.CacheConfig`` subclass.
    """


@hookspec
def pywatt_register_brokers(register: RegisterBroker) -> None:
    """Register message broker factories (nats, redis-streams, memory, ...).

    :param register: call ``register(name, factory)`` once per broker; ``factory`` has a
        ``schemes`` tuple (``("nats",)``) and builds a ``pywatt.core.brokers.Broker`` from a URL.
    """


@hookspec
def pywatt_register_server_adapters(register: RegisterServerAdapter) -> None:
    """Register server adapters that serve one web framework (starlette, flask, ...).

    :param register: call ``register(name, adapter)`` once per framework; ``adapter`` is a
        ``ServerAdapter`` instance.
    """


@hookspec
def pywatt_register_authenticators(register: RegisterAuthenticator) -> None:
    """Register authenticators (jwt, ...).

    :param register: call ``register(name, factory)`` once per authenticator.
    """


@hookspec
def pywatt_register_model_dialects(register: RegisterModelDialect) -> None:
    """Register schema dialects for pywatt-models (sqlite, postgresql, mysql, ...).

    :param register: call ``register(name, dialect)`` once per dialect; ``dialect`` is a
        ``pywatt.models.ModelDialect`` naming the SQLAlchemy dialect that compiles its SQL,
        its identifier limit, its features and any column types it adds or overrides.
    """


@hookspec
def pywatt_register_commands(register: RegisterCommand) -> None:
    """Register extra ``pywatt`` command-line commands.

    :param register: call ``register(name, command)`` once per command; ``command`` is a
        ``click.Command``.
    """


@hookspec
def pywatt_module_configured(config: AppConfig) -> None:
    """Called once the init handshake is read and the module's configuration is known.

    :param config: the module's configuration, built from the init message and environment.
    """


@hookspec
def pywatt_module_started(state: AppState[Any]) -> None:
    """Called after the module has announced itself and begins serving.

    :param state: the module's application state.
    """


@hookspec
def pywatt_module_stopping(state: AppState[Any], reason: str) -> None:
    """Called once when the module begins a graceful stop.

    :param state: the module's application state.
    :param reason: why the module stops: ``"shutdown"``, ``"eof"``, ``"signal"``,
        ``"parent-died"`` or ``"error"``.
    """
