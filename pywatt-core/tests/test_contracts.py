"""Components are checked against their contracts at registration, with the culprit named.

Each case is a real plugin module loaded through an entry point of a named distribution, so
the error must name the plugin, the distribution, the hook and what was expected.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from typing import Any

import pytest

from pywatt.core import hookimpl
from pywatt.core.errors import PluginError
from pywatt.core.plugins import REGISTRATION_HOOKS, Plugins, build_plugins


@dataclass
class _Dist:
    metadata: dict[str, str]
    version: str


@dataclass
class _EntryPoint:
    """An installed entry point of the ``pywatt`` group, from distribution ``acme-pywatt``."""

    name: str
    value: str
    dist: _Dist
    group: str = "pywatt"

    def load(self) -> Any:
        return sys.modules[self.value]


def _plugins(monkeypatch: pytest.MonkeyPatch, **hooks: Any) -> Plugins:
    module = types.ModuleType("acme_pywatt_plugin")
    for name, fn in hooks.items():
        setattr(module, name, fn)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    ep = _EntryPoint("acme", module.__name__, _Dist({"Name": "acme-pywatt"}, "1.2.0"))
    return build_plugins(entry_points=[ep], env={})  # type: ignore[list-item]


def _only_error(plugins: Plugins) -> str:
    [broken] = plugins.broken
    assert broken.name == "acme"
    assert broken.distribution == "acme-pywatt"
    return str(broken.error)


# -- components of the right kind, as an author naturally writes them -----------------------


class GoodEncoder:
    name = "rot"
    content_type = "application/x-rot"

    def encode(self, value: Any) -> bytes:
        return str(value).encode()

    def decode(self, data: bytes) -> Any:
        return data.decode()


class GoodCache:
    """The shape of a ``pywatt.data.Cache`` subclass (core's tests cannot import pywatt-data)."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...
    async def delete(self, key: str) -> bool: ...
    async def increment(self, key: str, delta: int = 1) -> int: ...
    async def lock(self, key: str, ttl: float) -> str | None: ...
    async def close(self) -> None: ...


class GoodCacheConfig:
    @classmethod
    def from_url(cls, url: str) -> GoodCacheConfig:
        return cls()

    def open(self) -> GoodCache:
        return GoodCache(None)


class GoodDatabase:
    def __init__(self, settings: Any) -> None: ...
    async def execute(self, sql: str, params: Any = None) -> int: ...
    async def fetch_one(self, sql: str, params: Any = None) -> Any: ...
    async def fetch_all(self, sql: str, params: Any = None) -> Any: ...
    def transaction(self) -> Any: ...
    async def close(self) -> None: ...


class GoodChannel:
    def __init__(self, config: Any) -> None: ...
    async def connect(self) -> None: ...
    async def run(self, host: Any) -> None: ...
    async def aclose(self) -> None: ...


class GoodAdapter:
    name = "quart"

    def supports(self, app: object) -> int:
        return 0

    def wrap(self, app: object) -> Any: ...


class GoodCommand:
    """The shape of a ``click.Command`` (core's tests cannot import click)."""

    name = "hello"
    params: list[Any] = []  # noqa: RUF012

    def main(self, *args: Any, **kwargs: Any) -> Any: ...


def _cache_factory(settings: Any) -> GoodCache:
    return GoodCache(settings)


def test_every_natural_shape_registers(monkeypatch):
    @hookimpl
    def pywatt_register_encoders(register):
        register("rot", GoodEncoder())

    @hookimpl
    def pywatt_register_cache_backends(register):
        register("acme", GoodCache)  # the class itself
        register("acme-fn", _cache_factory)  # a factory
        register("acme-cfg", GoodCacheConfig)  # a typed configuration class

    @hookimpl
    def pywatt_register_database_backends(register):
        register("acmedb", GoodDatabase)

    @hookimpl
    def pywatt_register_channels(register):
        register("quic", GoodChannel)

    @hookimpl
    def pywatt_register_server_adapters(register):
        register("quart", GoodAdapter())

    @hookimpl
    def pywatt_register_commands(register):
        register("hello", GoodCommand())

    plugins = _plugins(monkeypatch, **{k: v for k, v in locals().items() if k.startswith("py")})
    assert plugins.broken == []
    assert plugins.cache_backends.names() == ["acme", "acme-cfg", "acme-fn"]
    assert plugins.cache_backends.get("acme") is GoodCache
    assert isinstance(plugins.encoders.get("rot"), GoodEncoder)
    [info] = plugins.plugins()
    assert info.registered["cache backend"] == ["acme", "acme-fn", "acme-cfg"]


def _fn() -> None:
    """A plain function: not a click command."""


class _Nothing:
    """A class that fits no contract."""


# (hook, component, what the error says about it, what it says was expected)
WRONG_KINDS = [
    (
        "pywatt_register_commands",
        _fn,
        "the function test_contracts._fn, not a click command: decorate it with @click.command()",
        "a click.Command",
    ),
    (
        "pywatt_register_encoders",
        GoodEncoder,
        "the class test_contracts.GoodEncoder, not an instance: register GoodEncoder()",
        "an Encoder instance",
    ),
    (
        "pywatt_register_encoders",
        _Nothing(),
        "a test_contracts._Nothing instance, lacking encode, decode, name, content_type",
        "an Encoder instance",
    ),
    (
        "pywatt_register_server_adapters",
        GoodAdapter,
        "the class test_contracts.GoodAdapter, not an instance: register GoodAdapter()",
        "a ServerAdapter instance",
    ),
    (
        "pywatt_register_cache_backends",
        GoodCache(None),
        "a test_contracts.GoodCache instance: register its class or a factory, not a cache",
        "a pywatt.data.Cache subclass, a factory(CacheSettings) -> Cache, "
        "or a pywatt.data.CacheConfig subclass",
    ),
    (
        "pywatt_register_cache_backends",
        GoodCacheConfig(),
        "a test_contracts.GoodCacheConfig instance, a configuration: register its class",
        "a pywatt.data.Cache subclass",
    ),
    (
        "pywatt_register_cache_backends",
        _Nothing,
        "the class test_contracts._Nothing, lacking get, set, delete, increment, lock, close",
        "a pywatt.data.Cache subclass",
    ),
    (
        "pywatt_register_database_backends",
        {"url": "acme://"},
        "a builtins.dict instance, not callable",
        "a pywatt.data.Database subclass or a factory(DatabaseSettings) -> Database",
    ),
    (
        "pywatt_register_database_backends",
        GoodCacheConfig,
        "the class test_contracts.GoodCacheConfig, lacking execute, fetch_one, fetch_all, "
        "transaction, close",
        "a pywatt.data.Database subclass",
    ),
    (
        "pywatt_register_channels",
        GoodChannel(None),
        "a test_contracts.GoodChannel instance: register its class or a factory, not a channel",
        "a ModuleChannel class or a factory(config) -> ModuleChannel",
    ),
    (
        "pywatt_register_brokers",
        _Nothing,
        "the class test_contracts._Nothing, lacking a non-empty 'schemes' tuple of URL schemes",
        "a Broker class or factory(url) with a 'schemes' tuple",
    ),
    (
        "pywatt_register_authenticators",
        _Nothing,
        "the class test_contracts._Nothing, lacking authenticate, authenticate_sync",
        "an Authenticator class or factory",
    ),
    (
        "pywatt_register_model_dialects",
        {"name": "x"},
        "a builtins.dict instance, lacking name, sqlalchemy_name",
        "a pywatt.models.ModelDialect instance",
    ),
]


@pytest.mark.parametrize(("hook", "component", "got", "expected"), WRONG_KINDS)
def test_a_wrong_kind_fails_at_registration_naming_plugin_and_distribution(
    monkeypatch, hook, component, got, expected
):
    @hookimpl(specname=hook)
    def impl(register):
        register("thing", component)

    plugins = _plugins(monkeypatch, **{hook: impl})
    error = _only_error(plugins).replace("pywatt-core.tests.", "").replace("tests.", "")
    kind = next(d.kind for d in REGISTRATION_HOOKS if d.hook == hook)
    assert error.startswith(
        f"plugin 'acme' (distribution acme-pywatt 1.2.0) registered {kind} 'thing' in {hook}: "
        f"got {got}; expected {expected}"
    ), error
    # Using the name raises the same error; nothing of the wrong kind is handed out.
    with pytest.raises(PluginError) as info:
        plugins.registry(kind).get("thing")
    assert str(info.value) == str(plugins.broken[0].error)


def test_swapped_arguments_name_the_fix(monkeypatch):
    @hookimpl
    def pywatt_register_encoders(register):
        register(GoodEncoder(), "rot")

    error = _only_error(_plugins(monkeypatch, pywatt_register_encoders=pywatt_register_encoders))
    assert error == (
        "plugin 'acme' (distribution acme-pywatt 1.2.0) called register(<encoder>, 'rot') in "
        "pywatt_register_encoders: the name comes first, register('rot', <encoder>)"
    )


def test_a_component_without_a_name_is_refused(monkeypatch):
    @hookimpl
    def pywatt_register_encoders(register):
        register(GoodEncoder())

    error = _only_error(_plugins(monkeypatch, pywatt_register_encoders=pywatt_register_encoders))
    assert "plugin 'acme' (distribution acme-pywatt 1.2.0) failed in pywatt_register_encoders" in (
        error
    )
    assert "TypeError" in error


def test_a_wrapper_on_a_registration_hook_is_refused(monkeypatch):
    @hookimpl(wrapper=True)
    def pywatt_register_encoders(register):
        return (yield)

    error = _only_error(_plugins(monkeypatch, pywatt_register_encoders=pywatt_register_encoders))
    assert error == (
        "plugin 'acme' (distribution acme-pywatt 1.2.0) implements pywatt_register_encoders as "
        "a wrapper; registration hooks are plain calls: drop wrapper=True"
    )


def test_an_async_registration_hook_is_refused(monkeypatch):
    @hookimpl
    async def pywatt_register_encoders(register):
        register("rot", GoodEncoder())

    error = _only_error(_plugins(monkeypatch, pywatt_register_encoders=pywatt_register_encoders))
    assert error == (
        "plugin 'acme' (distribution acme-pywatt 1.2.0) implements pywatt_register_encoders as "
        "async; registration hooks are plain functions"
    )


def test_a_lazy_component_of_the_wrong_kind_fails_when_loaded(monkeypatch):
    from pywatt.core import lazy

    @hookimpl
    def pywatt_register_encoders(register):
        register("rot", lazy("test_contracts_lazy_target:GoodEncoder"))  # the class, not call=True

    monkeypatch.setitem(sys.modules, "test_contracts_lazy_target", sys.modules[__name__])
    plugins = _plugins(monkeypatch, pywatt_register_encoders=pywatt_register_encoders)
    assert plugins.broken == []  # nothing imported yet
    with pytest.raises(PluginError) as info:
        plugins.encoders.get("rot")
    assert str(info.value).startswith(
        "plugin 'acme' (distribution acme-pywatt 1.2.0) registered encoder 'rot' "
        "(lazy test_contracts_lazy_target:GoodEncoder) in pywatt_register_encoders: got the class"
    )
    assert (
        "register GoodEncoder(), or lazy('test_contracts_lazy_target:GoodEncoder', call=True)"
        in (str(info.value))
    )


def test_one_declaration_per_registration_hook():
    from pywatt.core import hookspecs

    specs = sorted(n for n in dir(hookspecs) if n.startswith("pywatt_register_"))
    assert sorted(d.hook for d in REGISTRATION_HOOKS) == specs
    plugins = build_plugins(entry_points=[], env={})
    for decl in REGISTRATION_HOOKS:
        registry = getattr(plugins, decl.attr)
        assert registry is plugins.registry(decl.kind)
        assert (registry.hook, registry.expected) == (decl.hook, decl.expected)


def test_register_callables_are_exported_from_core():
    import pywatt.core as core
    from pywatt.core import hookspecs

    for name in dir(hookspecs):
        if name.startswith("pywatt_register_"):
            annotation = hookspecs.__dict__[name].__annotations__["register"]
            assert annotation in core.__all__, annotation
            assert getattr(core, annotation).__module__ == "pywatt.core.contracts"


def test_a_refused_name_does_not_block_a_healthy_plugin(monkeypatch):
    class Sloppy:
        @staticmethod
        @hookimpl
        def pywatt_register_encoders(register):
            register("rot", GoodEncoder)  # the class: refused

    class Careful:
        @staticmethod
        @hookimpl
        def pywatt_register_encoders(register):
            register("rot", GoodEncoder())

    plugins = build_plugins(entry_points=[], extra=[("a", Sloppy), ("b", Careful)], env={})
    assert [b.name for b in plugins.broken] == ["a"]
    assert isinstance(plugins.encoders.get("rot"), GoodEncoder)
    assert plugins.encoders.owner("rot") == "b"
