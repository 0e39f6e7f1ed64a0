"""The hooks every pywatt plugin can implement.

Registration hooks run once, when the registries are first built. Each receives a
``register(name, factory)`` callable; the plugin calls it once per component it provides.
Per-message work never goes through pluggy: callers build a component once and keep it.

Lifecycle hooks run at the three points of a module's life and must return quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pywatt.core.config import AppConfig
    from pywatt.core.state import AppState

hookspec = pluggy.HookspecMarker("pywatt")

#: The callable handed to every registration hook: ``register(name, factory)``.
Register = Callable[[str, Any], None]


@hookspec
def pywatt_register_channels(register: Register) -> None:
    """Register channel factories (stdio, tcp, unix, ...).

    :param register: call ``register(name, factory)`` once per channel; ``factory`` builds a
        channel object from its configuration.
    """


@hookspec
def pywatt_register_encoders(register: Register) -> None:
    """Register payload encoders (json, msgpack, ...).

    :param register: call ``register(name, encoder)`` once per encoder; ``encoder`` is an
        object with ``encode(obj) -> bytes`` and ``decode(data) -> object``.
    """


@hookspec
def pywatt_register_database_backends(register: Register) -> None:
    """Register database backend factories (sqlite, postgres, mysql, proxy, ...).

    :param register: call ``register(name, factory)`` once per backend; ``factory`` builds a
        database from a URL or a typed configuration.
    """


@hookspec
def pywatt_register_cache_backends(register: Register) -> None:
    """Register cache backend factories (memory, file, redis, memcached, proxy, ...).

    :param register: call ``register(name, factory)`` once per backend; ``factory`` builds a
        cache from its configuration.
    """


@hookspec
def pywatt_register_brokers(register: Register) -> None:
    """Register message broker factories (nats, redis-streams, memory, ...).

    :param register: call ``register(name, factory)`` once per broker; ``factory`` has a
        ``schemes`` tuple (``("nats",)``) and builds a ``pywatt.core.brokers.Broker`` from a URL.
    """


@hookspec
def pywatt_register_server_adapters(register: Register) -> None:
    """Register server adapters that serve one web framework (starlette, flask, ...).

    :param register: call ``register(name, adapter_factory)`` once per framework.
    """


@hookspec
def pywatt_register_authenticators(register: Register) -> None:
    """Register authenticators (jwt, ...).

    :param register: call ``register(name, factory)`` once per authenticator.
    """


@hookspec
def pywatt_register_model_dialects(register: Register) -> None:
    """Register schema dialects for pywatt-models (sqlite, postgresql, mysql, ...).

    :param register: call ``register(name, dialect)`` once per dialect; ``dialect`` is a
        ``pywatt.models.ModelDialect`` naming the SQLAlchemy dialect that compiles its SQL,
        its identifier limit, its features and any column types it adds or overrides.
    """


@hookspec
def pywatt_register_commands(register: Register) -> None:
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
