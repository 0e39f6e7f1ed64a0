"""Plugin discovery, the component registries, and the typed hook facade.

Nothing here runs at import time: the manager is built on the first call to
:func:`get_plugins`, so ``import pywatt.core`` stays cheap.
"""

from __future__ import annotations

import importlib
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
    import importlib.metadata as md

    from pywatt.core.brokers import BrokerFactory
    from pywatt.core.config import AppConfig
    from pywatt.core.state import AppState

__all__ = [
    "ENTRY_POINT_GROUP",
    "BrokenPlugin",
    "Lazy",
    "PluginHooks",
    "PluginInfo",
    "Plugins",
    "Registry",
    "build_plugins",
    "get_plugins",
    "hookimpl",
    "lazy",
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
    "model dialect": "pywatt_register_model_dialects",
    "command": "pywatt_register_commands",
}


@dataclass(frozen=True)
class Lazy:
    """A component named by its import path and imported on first lookup.

    Registering ``lazy("pkg.mod:Name")`` instead of the object keeps a plugin's heavy imports
    (a web framework, SQLAlchemy, a driver) out of every process that never uses it.

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


def lazy(path: str, *, call: bool = False) -> Any:
    """A component to register by import path; see :class:`Lazy`."""
    return Lazy(path, call)


class Registry(Generic[T]):
    """Components of one kind, by name, remembering which plugin registered each."""

    def __init__(self, kind: str, contract: Callable[[Any], str | None] | None = None) -> None:
        self.kind = kind
        #: Returns why a component breaks this kind's contract, or None when it fits.
        self._contract = contract
        self._items: dict[str, T] = {}
        self._owners: dict[str, str] = {}
        #: Names whose plugin broke (or that two plugins claim): looking them up raises this.
        self._broken: dict[str, PluginError] = {}
        #: Plugins that failed before registering anything: they may have provided a name.
        self._failed: list[BrokenPlugin] = []

    def add(self, name: str, component: T, plugin: str) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin!r} registered a {self.kind} with an empty name")
        if name in self._items or name in self._broken:
            owner = self._owners.get(name)
            error = self._broken.get(name)
            if owner is None and error is not None:
                raise error
            raise DuplicateComponentError(self.kind, name, owner or "?", plugin)
        problem = self._breach(component)
        if problem is not None:
            raise PluginError(f"plugin {plugin!r} registered {self.kind} {name!r}, which {problem}")
        self._items[name] = component
        self._owners[name] = plugin

    def _breach(self, component: Any) -> str | None:
        """Why ``component`` breaks this kind's contract; a lazy one is checked once loaded."""
        if self._contract is None or isinstance(component, Lazy):
            return None
        return self._contract(component)

    def get(self, name: str) -> T:
        try:
            item = self._items[name]
        except KeyError:
            pass
        else:
            return self._resolve(name, item) if isinstance(item, Lazy) else item
        if name in self._broken:
            raise self._broken[name]
        error = UnknownComponentError(self.kind, name, self.names())
        if self._failed:
            hints = "; ".join(f"plugin {b.name!r} failed to load ({b.fix})" for b in self._failed)
            error = UnknownComponentError(self.kind, name, self.names(), hint=hints)
        raise error

    def _resolve(self, name: str, item: Lazy) -> T:
        try:
            component: T = item.load()
        except Exception as exc:
            owner = self._owners.get(name, "?")
            error = PluginError(
                f"plugin {owner!r}: {self.kind} {name!r} ({item.path}) failed to load: "
                f"{type(exc).__name__}: {exc} (skip it with PYWATT_DISABLED_PLUGINS={owner})"
            )
            error.__cause__ = exc
            logger.error("%s", error)
            self._break(name, error)
            raise error from exc
        problem = self._breach(component)
        if problem is not None:
            owner = self._owners.get(name, "?")
            error = PluginError(
                f"plugin {owner!r} registered {self.kind} {name!r}, which {problem}"
            )
            logger.error("%s", error)
            self._break(name, error)
            raise error
        self._items[name] = component
        return component

    def _break(self, name: str, error: PluginError) -> None:
        """Withdraw ``name``: its plugin failed, so using it must say why."""
        self._items.pop(name, None)
        self._owners.pop(name, None)
        self._broken[name] = error

    def owner(self, name: str) -> str:
        self.get(name)
        return self._owners[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        """Every usable component, imported if it was lazy; broken ones are left out."""
        out = []
        for name in self.names():
            try:
                out.append((name, self.get(name)))
            except PluginError:
                continue  # logged when it broke
        return out

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
    """One plugin and what it registered; ``error`` is set when it is broken."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    registered: Mapping[str, list[str]] = field(default_factory=dict)
    error: str | None = None

    @property
    def fix(self) -> str | None:
        return f"PYWATT_DISABLED_PLUGINS={self.name}" if self.error is not None else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "registered": {k: list(v) for k, v in self.registered.items()},
        }
        if self.error is not None:
            out["error"] = self.error
            out["fix"] = self.fix
        return out


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that could not be loaded or registered; the rest of the system goes on."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    error: PluginError

    @property
    def fix(self) -> str:
        return f"skip it with PYWATT_DISABLED_PLUGINS={self.name}"


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
        broken: Iterable[BrokenPlugin] = (),
    ) -> None:
        self.pm = pm
        #: Plugins that failed to load or register, in discovery order.
        self.broken: list[BrokenPlugin] = list(broken)
        self.hooks = PluginHooks(pm)
        self.channels: Registry[Any] = Registry("channel")
        self.encoders: Registry[Any] = Registry("encoder")
        self.database_backends: Registry[Any] = Registry("database backend")
        self.cache_backends: Registry[Any] = Registry("cache backend")
        self.brokers: Registry[BrokerFactory] = Registry("broker", contract=_is_broker_factory)
        self.server_adapters: Registry[Any] = Registry("server adapter")
        self.authenticators: Registry[Any] = Registry("authenticator")
        self.model_dialects: Registry[Any] = Registry("model dialect")
        self.commands: Registry[Any] = Registry("command")
        self._registered: dict[str, dict[str, list[str]]] = {name: {} for name, *_ in infos}
        self._infos = infos
        self._trace = trace
        self._fill_registries()
        for reg in self._registries():
            reg._failed = [b for b in self.broken if not self._registered.get(b.name)]

    def registry(self, kind: str) -> Registry[Any]:
        """The registry for a component kind, e.g. ``"channel"`` or ``"cache backend"``."""
        for reg in self._registries():
            if reg.kind == kind:
                return reg
        raise KeyError(kind)

    def plugins(self) -> list[PluginInfo]:
        """Every plugin, healthy or broken, sorted by name."""
        errors = {b.name: str(b.error) for b in self.broken}
        infos = [
            PluginInfo(
                name, module, dist, version, dict(self._registered.get(name, {})), errors.get(name)
            )
            for name, module, dist, version in self._infos
        ]
        known = {info.name for info in infos}
        infos += [
            PluginInfo(b.name, b.module, b.distribution, b.version, {}, str(b.error))
            for b in self.broken
            if b.name not in known
        ]
        return sorted(infos, key=lambda info: info.name)

    def _registries(self) -> list[Registry[Any]]:
        return [
            self.channels,
            self.encoders,
            self.database_backends,
            self.cache_backends,
            self.brokers,
            self.server_adapters,
            self.authenticators,
            self.model_dialects,
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
                if any(b.name == plugin for b in self.broken):
                    continue
                register = self._register_for(reg, plugin)
                kwargs = {"register": register} if "register" in impl.argnames else {}
                if self._trace:
                    logger.info("pywatt plugin hook %s -> %s", hook_name, plugin)
                try:
                    impl.function(**kwargs)
                except Exception as exc:
                    error = (
                        exc
                        if isinstance(exc, PluginError)
                        else PluginError(
                            f"plugin {plugin!r} failed in {hook_name}: {type(exc).__name__}: {exc}"
                        )
                    )
                    error.__cause__ = exc if error is not exc else exc.__cause__
                    self._contain(plugin, error)

    def _contain(self, plugin: str, error: PluginError) -> None:
        """Take a plugin out of service: its names raise ``error``; other plugins go on."""
        logger.error("%s (%s)", error, f"skip it with PYWATT_DISABLED_PLUGINS={plugin}")
        info = next((i for i in self._infos if i[0] == plugin), (plugin, "?", None, None))
        self.broken.append(BrokenPlugin(info[0], info[1], info[2], info[3], error))
        for reg in self._registries():
            for name in self._registered.get(plugin, {}).get(reg.kind, []):
                reg._break(name, error)
            if isinstance(error, DuplicateComponentError) and reg.kind == error.kind:
                reg._break(error.name, error)

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
        import importlib.metadata  # costly: only discovery needs it

        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    infos: list[tuple[str, str, str | None, str | None]] = []
    broken: list[BrokenPlugin] = []
    seen: dict[str, str] = {}
    for ep in sorted(entry_points, key=lambda e: (e.name, e.value)):
        if ep.name in disabled or (allowed is not None and ep.name not in allowed):
            logger.debug("pywatt plugin %r skipped by PYWATT_* settings", ep.name)
            continue
        dist, version = _dist_of(ep)
        error: PluginError | None = None
        if ep.name in seen:
            error = PluginError(
                f"plugin name {ep.name!r} is declared by both {seen[ep.name]!r} and "
                f"{dist or ep.value!r}"
            )
        else:
            seen[ep.name] = dist or ep.value
            try:
                _register(pm, ep.name, ep.load())
            except PluginError as exc:
                error = exc
            except Exception as exc:
                error = PluginLoadError(ep.name, dist or "<unknown>", version or "<unknown>", exc)
                error.__cause__ = exc
        if error is None:
            infos.append((ep.name, ep.value, dist, version))
        else:
            logger.error("%s (skip it with PYWATT_DISABLED_PLUGINS=%s)", error, ep.name)
            broken.append(BrokenPlugin(ep.name, ep.value, dist, version, error))
    for name, plugin in extra:
        _register(pm, name, plugin)
        infos.append((name, getattr(plugin, "__name__", repr(plugin)), None, None))
    for name, hook in _unknown_hooks(pm):
        error = PluginError(f"plugin {name!r} implements an unknown hook {hook!r}{_suggest(hook)}")
        logger.error("%s (skip it with PYWATT_DISABLED_PLUGINS=%s)", error, name)
        pm.unregister(name=name)
        info = next(i for i in infos if i[0] == name)
        infos.remove(info)
        broken.append(BrokenPlugin(*info, error))
    trace = _env_flag("PYWATT_TRACE_PLUGINS", env)
    if trace:
        _ensure_trace_output()
        pm.trace.root.setwriter(lambda msg: logger.info("pywatt plugin trace: %s", msg.rstrip()))
        pm.enable_tracing()
    return Plugins(pm, infos, trace=trace, broken=broken)


def _unknown_hooks(pm: pluggy.PluginManager) -> list[tuple[str, str]]:
    """``(plugin, hook)`` for every ``pywatt_*`` implementation with no hookspec."""
    found = []
    for name in pm.hook.__dict__:
        caller = getattr(pm.hook, name)
        if name.startswith("pywatt_") and not caller.has_spec():
            found += [(impl.plugin_name, name) for impl in caller.get_hookimpls()]
    return sorted(set(found))


def _suggest(hook: str) -> str:
    import difflib  # only an unknown hook name needs it

    known = [n for n in dir(hookspecs) if n.startswith("pywatt_")]
    close = difflib.get_close_matches(hook, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


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
