"""Plugin discovery, the component registries, and the typed hook facade.

Nothing here runs at import time: the manager is built on the first call to
:func:`get_plugins`, so ``import pywatt.core`` stays cheap.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import pluggy

from pywatt.core import _checks, hookspecs
from pywatt.core.contracts import (
    Authenticator,
    CacheBackendFactory,
    CacheConfigType,
    ChannelFactory,
    Command,
    DatabaseBackendFactory,
    Encoder,
    Lazy,
    ModelDialect,
    ServerAdapter,
    lazy,
)
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
    "REGISTRATION_HOOKS",
    "BrokenPlugin",
    "Lazy",
    "PluginHooks",
    "PluginInfo",
    "Plugins",
    "RegistrationHook",
    "Registry",
    "build_plugins",
    "get_plugins",
    "hookimpl",
    "lazy",
    "reset_plugins",
]

ENTRY_POINT_GROUP = "pywatt"
hookimpl = hookspecs.hookimpl

logger = logging.getLogger("pywatt.plugins")

T = TypeVar("T")


class Registry(Generic[T]):
    """Components of one kind, by name, remembering which plugin registered each.

    :param kind: what the components are, as messages say it (``"cache backend"``).
    :param contract: returns why a component breaks the kind's contract, or None when it fits.
    :param hook: the registration hook that fills this registry (named in errors).
    :param expected: what a component of this kind is (named in errors).
    """

    def __init__(
        self,
        kind: str,
        contract: Callable[[object], str | None] | None = None,
        *,
        hook: str = "",
        expected: str = "",
    ) -> None:
        self.kind = kind
        self.hook = hook
        self.expected = expected
        self._contract = contract
        self._items: dict[str, T | Lazy] = {}
        self._owners: dict[str, str] = {}
        #: How errors name each owner: the plugin with its distribution.
        self._origins: dict[str, str] = {}
        #: Names whose plugin broke (or that two plugins claim): looking them up raises this.
        self._broken: dict[str, PluginError] = {}
        #: Names refused for the wrong kind: looking them up raises this, unless another plugin
        #: provides the name properly.
        self._refused: dict[str, PluginError] = {}
        #: Plugins that failed before registering anything: they may have provided a name.
        self._failed: list[BrokenPlugin] = []

    def add(self, name: str, component: T | Lazy, plugin: str, origin: str | None = None) -> None:
        """Register ``component`` as ``name`` for ``plugin``; a wrong kind raises at once.

        :param origin: how errors name the plugin (default ``plugin 'name'``).
        """
        origin = origin or f"plugin {plugin!r}"
        if not isinstance(name, str) or not name:
            raise PluginError(f"{origin} {self._misnamed(name, component)}")
        if name in self._items or name in self._broken:
            owner = self._owners.get(name)
            error = self._broken.get(name)
            if owner is None and error is not None:
                raise error
            raise DuplicateComponentError(self.kind, name, owner or "?", plugin)
        problem = self._breach(component)
        if problem is not None:
            error = PluginError(self._breach_message(origin, name, problem))
            self._refused.setdefault(name, error)  # looking the name up says why it is missing
            raise error
        self._refused.pop(name, None)
        self._items[name] = component
        self._owners[name] = plugin
        self._origins[name] = origin

    def _misnamed(self, name: object, component: object) -> str:
        where = f" in {self.hook}" if self.hook else ""
        if isinstance(component, str) and component:
            return (
                f"called register(<{self.kind}>, {component!r}){where}: the name comes first, "
                f"register({component!r}, <{self.kind}>)"
            )
        got = "an empty name" if name == "" else f"a {type(name).__name__} as the name"
        return f"registered a {self.kind}{where} with {got}; call register(name, {self.kind})"

    def _breach_message(self, origin: str, name: str, problem: str, path: str = "") -> str:
        where = f" in {self.hook}" if self.hook else ""
        lazily = f" (lazy {path})" if path else ""
        expected = f"; expected {self.expected}" if self.expected else ""
        return f"{origin} registered {self.kind} {name!r}{lazily}{where}: got {problem}{expected}"

    def _breach(self, component: object) -> str | None:
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
        if name in self._refused:
            raise self._refused[name]
        error = UnknownComponentError(self.kind, name, self.names())
        if self._failed:
            hints = "; ".join(f"plugin {b.name!r} failed to load ({b.fix})" for b in self._failed)
            error = UnknownComponentError(self.kind, name, self.names(), hint=hints)
        raise error

    def _resolve(self, name: str, item: Lazy) -> T:
        owner = self._owners.get(name, "?")
        origin = self._origins.get(name, f"plugin {owner!r}")
        try:
            component: T = item.load()
        except Exception as exc:
            error = PluginError(
                f"{origin}: {self.kind} {name!r} ({item.path}) failed to load: "
                f"{type(exc).__name__}: {exc} (skip it with PYWATT_DISABLED_PLUGINS={owner})"
            )
            error.__cause__ = exc
            logger.error("%s", error)
            self._break(name, error)
            raise error from exc
        problem = self._breach(component)
        if problem is not None:
            if "not an instance" in problem and not item.call:
                problem += f", or lazy({item.path!r}, call=True)"
            error = PluginError(self._breach_message(origin, name, problem, item.path))
            logger.error("%s", error)
            self._break(name, error)
            raise error
        self._items[name] = component
        return component

    def _break(self, name: str, error: PluginError) -> None:
        """Withdraw ``name``: its plugin failed, so using it must say why."""
        self._items.pop(name, None)
        self._owners.pop(name, None)
        self._origins.pop(name, None)
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


class RegistrationHook(Generic[T]):
    """One registration hook: its component kind, contract and registry, declared once.

    Declared as an attribute of :class:`Plugins`; on an instance the attribute is the
    filled :class:`Registry`. The hook table, the registries and the ``pywatt plugins``
    listing are all built from these declarations.
    """

    def __init__(
        self, kind: str, hook: str, contract: Callable[[object], str | None], expected: str
    ) -> None:
        self.kind = kind
        self.hook = hook
        self.contract = contract
        self.expected = expected
        self.attr = ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr

    def new_registry(self) -> Registry[T]:
        return Registry(self.kind, self.contract, hook=self.hook, expected=self.expected)

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> RegistrationHook[T]: ...

    @overload
    def __get__(self, obj: Plugins, objtype: type | None = None) -> Registry[T]: ...

    def __get__(
        self, obj: Plugins | None, objtype: type | None = None
    ) -> Registry[T] | RegistrationHook[T]:
        if obj is None:
            return self
        registry: Registry[T] = obj._by_kind[self.kind]
        return registry


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


async def _settle(results: list[object]) -> None:
    """Await what lifecycle implementations returned, in order: they may be coroutines."""
    for result in results:
        if inspect.isawaitable(result):
            await result


class PluginHooks:
    """Typed calls onto ``pm.hook`` so that call sites are checked by mypy.

    An implementation may be ``async def``: its coroutine is awaited before the call returns.
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm

    async def module_configured(self, config: AppConfig) -> None:
        await _settle(self._pm.hook.pywatt_module_configured(config=config))

    async def module_started(self, state: AppState[Any]) -> None:
        await _settle(self._pm.hook.pywatt_module_started(state=state))

    async def module_stopping(self, state: AppState[Any], reason: str) -> None:
        await _settle(self._pm.hook.pywatt_module_stopping(state=state, reason=reason))


class Plugins:
    """The built plugin manager together with every component registry.

    Each registry is declared once below, as a :class:`RegistrationHook`: adding a
    registration hook means adding its hookspec and one line here.
    """

    channels = RegistrationHook[ChannelFactory](
        "channel",
        "pywatt_register_channels",
        _checks.channel,
        "a ModuleChannel class or a factory(config) -> ModuleChannel",
    )
    encoders = RegistrationHook[Encoder](
        "encoder",
        "pywatt_register_encoders",
        _checks.encoder,
        "an Encoder instance (name, content_type, encode, decode)",
    )
    database_backends = RegistrationHook[DatabaseBackendFactory](
        "database backend",
        "pywatt_register_database_backends",
        _checks.database_backend,
        "a pywatt.data.Database subclass or a factory(DatabaseSettings) -> Database",
    )
    cache_backends = RegistrationHook[CacheBackendFactory | type[CacheConfigType]](
        "cache backend",
        "pywatt_register_cache_backends",
        _checks.cache_backend,
        "a pywatt.data.Cache subclass, a factory(CacheSettings) -> Cache, "
        "or a pywatt.data.CacheConfig subclass",
    )
    # Declared, not subscripted: the broker contract (pywatt.core.brokers) loads on first use.
    brokers: RegistrationHook[BrokerFactory] = RegistrationHook(
        "broker",
        "pywatt_register_brokers",
        _checks.broker,
        "a Broker class or factory(url) with a 'schemes' tuple",
    )
    server_adapters = RegistrationHook[ServerAdapter](
        "server adapter",
        "pywatt_register_server_adapters",
        _checks.server_adapter,
        "a ServerAdapter instance (name, supports, wrap)",
    )
    authenticators = RegistrationHook[Callable[..., Authenticator]](
        "authenticator",
        "pywatt_register_authenticators",
        _checks.authenticator,
        "an Authenticator class or factory",
    )
    model_dialects = RegistrationHook[ModelDialect](
        "model dialect",
        "pywatt_register_model_dialects",
        _checks.model_dialect,
        "a pywatt.models.ModelDialect instance",
    )
    commands = RegistrationHook[Command](
        "command",
        "pywatt_register_commands",
        _checks.command,
        "a click.Command",
    )

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
        self._by_kind: dict[str, Registry[Any]] = {
            decl.kind: decl.new_registry() for decl in REGISTRATION_HOOKS
        }
        self._registered: dict[str, dict[str, list[str]]] = {name: {} for name, *_ in infos}
        self._infos = infos
        self._trace = trace
        self._fill_registries()
        for reg in self._registries():
            reg._failed = [b for b in self.broken if not self._registered.get(b.name)]

    def registry(self, kind: str) -> Registry[Any]:
        """The registry for a component kind, e.g. ``"channel"`` or ``"cache backend"``."""
        return self._by_kind[kind]

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
        return list(self._by_kind.values())

    def _origin(self, plugin: str) -> str:
        """How errors name a plugin: with its distribution and version when it has one."""
        for name, _module, dist, version in self._infos:
            if name == plugin and dist is not None:
                return f"plugin {plugin!r} (distribution {dist} {version or ''})".replace(" )", ")")
        return f"plugin {plugin!r}"

    def _fill_registries(self) -> None:
        order = {name: i for i, (name, *_) in enumerate(self._infos)}
        for reg in self._registries():
            caller = getattr(self.pm.hook, reg.hook)
            impls = sorted(
                caller.get_hookimpls(), key=lambda i: order.get(i.plugin_name, len(order))
            )
            for impl in impls:
                plugin = impl.plugin_name
                if any(b.name == plugin for b in self.broken):
                    continue
                if impl.hookwrapper or impl.wrapper:
                    self._contain(
                        plugin,
                        PluginError(
                            f"{self._origin(plugin)} implements {reg.hook} as a wrapper; "
                            "registration hooks are plain calls: drop wrapper=True"
                        ),
                    )
                    continue
                register = self._register_for(reg, plugin)
                kwargs = {"register": register} if "register" in impl.argnames else {}
                if self._trace:
                    logger.info("pywatt plugin hook %s -> %s", reg.hook, plugin)
                try:
                    result = impl.function(**kwargs)
                    if inspect.isawaitable(result):
                        if inspect.iscoroutine(result):
                            result.close()
                        raise PluginError(
                            f"{self._origin(plugin)} implements {reg.hook} as async; "
                            "registration hooks are plain functions"
                        )
                except Exception as exc:
                    error = (
                        exc
                        if isinstance(exc, PluginError)
                        else PluginError(
                            f"{self._origin(plugin)} failed in {reg.hook}: "
                            f"{type(exc).__name__}: {exc}"
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
        origin = self._origin(plugin)

        def register(name: str, component: Any, /) -> None:
            reg.add(name, component, plugin, origin)
            self._registered.setdefault(plugin, {}).setdefault(reg.kind, []).append(name)
            if self._trace:
                logger.info("pywatt plugin %r registered %s %r", plugin, reg.kind, name)

        return register


#: Every registration hook, in the order ``pywatt plugins`` and the registries use.
REGISTRATION_HOOKS: tuple[RegistrationHook[Any], ...] = tuple(
    v for v in vars(Plugins).values() if isinstance(v, RegistrationHook)
)


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
    # One parse of METADATA: ``dist.version`` would read and parse the file a second time.
    meta = dist.metadata
    return meta["Name"], meta.get("Version") or dist.version


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
