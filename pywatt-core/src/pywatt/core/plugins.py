"""Plugin discovery, the component registries, and the typed hook facade.

Nothing here runs at import time: the manager is built on the first call to
:func:`get_plugins`, so ``import pywatt.core`` stays cheap.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pluggy

from pywatt.core import hookspecs
from pywatt.core.errors import (
    DuplicateComponentError,
    PluginError,
    PluginLoadError,
    UnknownComponentError,
)

if TYPE_CHECKING:
    from pywatt.core.brokers import BrokerFactory
    from pywatt.core.config import AppConfig
    from pywatt.core.state import AppState

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginHooks",
    "PluginInfo",
    "Plugins",
    "Registry",
    "build_plugins",
    "get_plugins",
    "hookimpl",
    "reset_plugins",
]

ENTRY_POINT_GROUP = "pywatt"
hookimpl = pluggy.HookimplMarker("pywatt")

logger = logging.getLogger("pywatt.plugins")

T = TypeVar("T")

#: Registration hooks, keyed by the component kind they fill (used in messages).
_REGISTRATION_HOOKS: dict[str, str] = {
    "channel": "pywatt_register_channels",
    "encoder": "pywatt_register_encoders",
    "database backend": "pywatt_register_database_backends",
    "cache backend": "pywatt_register_cache_backends",
    "broker": "pywatt_register_brokers",
    "server adapter": "pywatt_register_server_adapters",
    "authenticator": "pywatt_register_authenticators",
    "command": "pywatt_register_commands",
}


class Registry(Generic[T]):
    """Components of one kind, by name, remembering which plugin registered each."""

    def __init__(self, kind: str, contract: Callable[[Any], str | None] | None = None) -> None:
        self.kind = kind
        #: Returns why a component breaks this kind's contract, or None when it fits.
        self._contract = contract
        self._items: dict[str, T] = {}
        self._owners: dict[str, str] = {}

    def add(self, name: str, component: T, plugin: str) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin!r} registered a {self.kind} with an empty name")
        if name in self._items:
            raise DuplicateComponentError(self.kind, name, self._owners[name], plugin)
        problem = self._contract(component) if self._contract is not None else None
        if problem is not None:
            raise PluginError(f"plugin {plugin!r} registered {self.kind} {name!r}, which {problem}")
        self._items[name] = component
        self._owners[name] = plugin

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownComponentError(self.kind, name, self.names()) from None

    def owner(self, name: str) -> str:
        self.get(name)
        return self._owners[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._items[n]) for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


def _is_broker_factory(component: Any) -> str | None:
    schemes = getattr(component, "schemes", None)
    if not callable(component):
        return "is not callable"
    if (
        not isinstance(schemes, tuple)
        or not schemes
        or not all(isinstance(s, str) for s in schemes)
    ):
        return "lacks a non-empty 'schemes' tuple of URL schemes"
    return None


@dataclass(frozen=True)
class PluginInfo:
    """One loaded plugin and what it registered."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    registered: Mapping[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "registered": {k: list(v) for k, v in self.registered.items()},
        }


class PluginHooks:
    """Typed calls onto ``pm.hook`` so that call sites are checked by mypy."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm

    def module_configured(self, config: AppConfig) -> None:
        self._pm.hook.pywatt_module_configured(config=config)

    def module_started(self, state: AppState[Any]) -> None:
        self._pm.hook.pywatt_module_started(state=state)

    def module_stopping(self, state: AppState[Any], reason: str) -> None:
        self._pm.hook.pywatt_module_stopping(state=state, reason=reason)


class Plugins:
    """The built plugin manager together with every component registry."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        infos: list[tuple[str, str, str | None, str | None]],
        *,
        trace: bool = False,
    ) -> None:
        self.pm = pm
        self.hooks = PluginHooks(pm)
        self.channels: Registry[Any] = Registry("channel")
        self.encoders: Registry[Any] = Registry("encoder")
        self.database_backends: Registry[Any] = Registry("database backend")
        self.cache_backends: Registry[Any] = Registry("cache backend")
        self.brokers: Registry[BrokerFactory] = Registry("broker", contract=_is_broker_factory)
        self.server_adapters: Registry[Any] = Registry("server adapter")
        self.authenticators: Registry[Any] = Registry("authenticator")
        self.commands: Registry[Any] = Registry("command")
        self._registered: dict[str, dict[str, list[str]]] = {name: {} for name, *_ in infos}
        self._infos = infos
        self._trace = trace
        self._fill_registries()

    def registry(self, kind: str) -> Registry[Any]:
        """The registry for a component kind, e.g. ``"channel"`` or ``"cache backend"``."""
        for reg in self._registries():
            if reg.kind == kind:
                return reg
        raise KeyError(kind)

    def plugins(self) -> list[PluginInfo]:
        return [
            PluginInfo(name, module, dist, version, dict(self._registered.get(name, {})))
            for name, module, dist, version in self._infos
        ]

    def _registries(self) -> list[Registry[Any]]:
        return [
            self.channels,
            self.encoders,
            self.database_backends,
            self.cache_backends,
            self.brokers,
            self.server_adapters,
            self.authenticators,
            self.commands,
        ]

    def _fill_registries(self) -> None:
        order = {name: i for i, (name, *_) in enumerate(self._infos)}
        for reg in self._registries():
            hook_name = _REGISTRATION_HOOKS[reg.kind]
            caller = getattr(self.pm.hook, hook_name)
            impls = sorted(
                caller.get_hookimpls(), key=lambda i: order.get(i.plugin_name, len(order))
            )
            for impl in impls:
                plugin = impl.plugin_name
                register = self._register_for(reg, plugin)
                kwargs = {"register": register} if "register" in impl.argnames else {}
                if self._trace:
                    logger.info("pywatt plugin hook %s -> %s", hook_name, plugin)
                try:
                    impl.function(**kwargs)
                except PluginError:
                    raise
                except Exception as exc:
                    raise PluginError(
                        f"plugin {plugin!r} failed in {hook_name}: {type(exc).__name__}: {exc}"
                    ) from exc

    def _register_for(self, reg: Registry[Any], plugin: str) -> Callable[[str, Any], None]:
        def register(name: str, component: Any) -> None:
            reg.add(name, component, plugin)
            self._registered.setdefault(plugin, {}).setdefault(reg.kind, []).append(name)
            if self._trace:
                logger.info("pywatt plugin %r registered %s %r", plugin, reg.kind, name)

        return register


def _env_list(name: str, env: Mapping[str, str]) -> list[str] | None:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _env_flag(name: str, env: Mapping[str, str]) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _dist_of(ep: md.EntryPoint) -> tuple[str | None, str | None]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    return dist.metadata["Name"], dist.version


def build_plugins(
    *,
    entry_points: Iterable[md.EntryPoint] | None = None,
    extra: Iterable[tuple[str, ModuleType | object]] = (),
    env: Mapping[str, str] | None = None,
) -> Plugins:
    """Discover plugins and fill the registries.

    :param entry_points: entry points to load instead of the installed ``pywatt`` group.
    :param extra: ``(name, plugin)`` pairs registered in addition, after the entry points.
    :param env: environment to read ``PYWATT_*`` settings from (default ``os.environ``).
    """
    env = os.environ if env is None else env
    disabled = set(_env_list("PYWATT_DISABLED_PLUGINS", env) or [])
    allowed = _env_list("PYWATT_LOAD_PLUGINS", env)
    pm = pluggy.PluginManager("pywatt")
    pm.add_hookspecs(hookspecs)
    if entry_points is None:
        entry_points = md.entry_points(group=ENTRY_POINT_GROUP)
    infos: list[tuple[str, str, str | None, str | None]] = []
    seen: dict[str, str] = {}
    for ep in sorted(entry_points, key=lambda e: (e.name, e.value)):
        if ep.name in disabled or (allowed is not None and ep.name not in allowed):
            logger.debug("pywatt plugin %r skipped by PYWATT_* settings", ep.name)
            continue
        dist, version = _dist_of(ep)
        if ep.name in seen:
            raise PluginError(
                f"plugin name {ep.name!r} is declared by both {seen[ep.name]!r} and "
                f"{dist or ep.value!r}"
            )
        seen[ep.name] = dist or ep.value
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginLoadError(
                ep.name, dist or "<unknown>", version or "<unknown>", exc
            ) from exc
        _register(pm, ep.name, plugin)
        infos.append((ep.name, ep.value, dist, version))
    for name, plugin in extra:
        _register(pm, name, plugin)
        infos.append((name, getattr(plugin, "__name__", repr(plugin)), None, None))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc
    trace = _env_flag("PYWATT_TRACE_PLUGINS", env)
    if trace:
        _ensure_trace_output()
        pm.trace.root.setwriter(lambda msg: logger.info("pywatt plugin trace: %s", msg.rstrip()))
        pm.enable_tracing()
    return Plugins(pm, infos, trace=trace)


def _ensure_trace_output() -> None:
    """Tracing was asked for explicitly, so make sure it reaches stderr even unconfigured."""
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    if not logger.handlers and not logging.getLogger().handlers:
        logger.addHandler(logging.StreamHandler())


def _register(pm: pluggy.PluginManager, name: str, plugin: object) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name!r} is invalid: {exc}") from exc
    except ValueError as exc:
        raise PluginError(f"plugin {name!r} could not be registered: {exc}") from exc


_lock = threading.Lock()
_plugins: Plugins | None = None


def get_plugins() -> Plugins:
    """The process-wide plugins, built on first use."""
    global _plugins
    if _plugins is None:
        with _lock:
            if _plugins is None:
                _plugins = build_plugins()
    return _plugins


def reset_plugins() -> None:
    """Forget the built plugins so the next :func:`get_plugins` rediscovers them."""
    global _plugins
    with _lock:
        _plugins = None
