"""The broker contract in core: registration checks, lookup by URL scheme, settling once."""

from __future__ import annotations

import sys
import types

import pytest

from pywatt.core import hookimpl
from pywatt.core.brokers import Delivery, SubscribeOptions, broker_for_url
from pywatt.core.errors import ConfigError, PluginError
from pywatt.core.plugins import build_plugins

pytestmark = pytest.mark.anyio


class FakeBroker:
    schemes = ("fake", "fakes")

    def __init__(self, url: str, **options: object) -> None:
        self.url, self.options = url, options


def _plugins(monkeypatch, component: object):
    import importlib.metadata as md

    @hookimpl
    def pywatt_register_brokers(register):
        register("fake", component)

    mod = types.ModuleType("fakebroker_plug")
    mod.pywatt_register_brokers = pywatt_register_brokers  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fakebroker_plug", mod)
    return build_plugins(entry_points=[md.EntryPoint("plug", "fakebroker_plug", "pywatt")], env={})


def test_broker_is_found_by_url_scheme(monkeypatch):
    plugins = _plugins(monkeypatch, FakeBroker)
    assert plugins.brokers.names() == ["fake"]
    broker = broker_for_url("fakes://h:1/x", plugins, prefix="p")
    assert isinstance(broker, FakeBroker)
    assert (broker.url, broker.options) == ("fakes://h:1/x", {"prefix": "p"})


def test_unknown_scheme_lists_installed_schemes(monkeypatch):
    plugins = _plugins(monkeypatch, FakeBroker)
    with pytest.raises(ConfigError, match=r"no broker for kafka:// URLs; installed schemes: fake"):
        broker_for_url("kafka://h", plugins)
    with pytest.raises(ConfigError, match="has no scheme"):
        broker_for_url("127.0.0.1:4222", plugins)


def test_a_scheme_claimed_by_two_brokers_names_both(monkeypatch):
    import importlib.metadata as md

    class OtherBroker(FakeBroker):
        schemes = ("fakes",)

    @hookimpl
    def first(register):
        register("fake", FakeBroker)

    @hookimpl
    def second(register):
        register("other", OtherBroker)

    for name, impl in (("plug_a", first), ("plug_b", second)):
        mod = types.ModuleType(name)
        mod.pywatt_register_brokers = impl  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, name, mod)
    eps = [md.EntryPoint("a", "plug_a", "pywatt"), md.EntryPoint("b", "plug_b", "pywatt")]
    plugins = build_plugins(entry_points=eps, env={})
    assert isinstance(broker_for_url("fake://h", plugins), FakeBroker)  # only one claims fake
    with pytest.raises(ConfigError) as caught:
        broker_for_url("fakes://h", plugins)
    assert str(caught.value) == (
        "fakes:// is claimed by brokers 'fake' (plugin 'a') and 'other' (plugin 'b'); "
        "disable one with PYWATT_DISABLED_PLUGINS"
    )


@pytest.mark.parametrize("component", [object(), type("NoSchemes", (), {})])
def test_a_component_that_is_not_a_broker_factory_fails_at_registration(monkeypatch, component):
    plugins = _plugins(monkeypatch, component)
    [broken] = plugins.broken
    assert broken.name == "plug"
    assert isinstance(broken.error, PluginError)
    assert "plugin 'plug' registered broker 'fake' in pywatt_register_brokers: got" in str(
        broken.error
    )
    assert "fake" not in plugins.brokers


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_deliver": 0}, "max_deliver"),
        ({"ack_wait": 0}, "ack_wait"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
def test_subscribe_options_are_checked(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SubscribeOptions(**kwargs)


async def test_a_delivery_settles_once():
    calls: list[str] = []

    async def ack() -> None:
        calls.append("ack")

    async def nack(delay: float) -> None:
        calls.append(f"nack {delay}")

    first = Delivery("s", b"", {}, 1, ack, nack)
    await first.nack(0.5)
    await first.ack()
    second = Delivery("s", b"", {}, 1, ack, nack)
    await second.ack()
    await second.nack()
    assert calls == ["nack 0.5", "ack"]
    assert first.settled
    assert second.settled


def test_a_lazy_broker_is_checked_when_it_loads(monkeypatch):
    from pywatt.core.plugins import lazy

    plugins = _plugins(monkeypatch, lazy("builtins:object"))
    assert "fake" in plugins.brokers  # registered by path: nothing imported yet
    with pytest.raises(PluginError, match=r"registered broker 'fake' \(lazy builtins:object\)"):
        plugins.brokers.get("fake")
    good = _plugins(monkeypatch, lazy("test_brokers_lazy_target:FakeBroker"))
    monkeypatch.setitem(sys.modules, "test_brokers_lazy_target", sys.modules[__name__])
    assert isinstance(broker_for_url("fake://h", good), FakeBroker)
