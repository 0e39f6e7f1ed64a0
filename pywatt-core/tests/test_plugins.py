from __future__ import annotations

import importlib.metadata as md
import sys
import types

import anyio
import pytest

from pywatt.core import hookimpl
from pywatt.core.errors import (
    DuplicateComponentError,
    PluginError,
    PluginLoadError,
    UnknownComponentError,
)
from pywatt.core.plugins import build_plugins, get_plugins, reset_plugins


def _fake_plugin(monkeypatch: pytest.MonkeyPatch, modname: str, **hooks: object) -> md.EntryPoint:
    mod = types.ModuleType(modname)
    for name, fn in hooks.items():
        setattr(mod, name, fn)
    monkeypatch.setitem(sys.modules, modname, mod)
    return md.EntryPoint(modname.rsplit("_", 1)[-1], modname, "pywatt")


class _Enc:
    """A minimal encoder: the registry checks the shape of what is registered."""

    content_type = "application/x-test"

    def __init__(self, name: str = "later") -> None:
        self.name = name

    def encode(self, value: object) -> bytes:
        return repr(value).encode()

    def decode(self, data: bytes) -> object:
        return data.decode()


def _encoder_plugin(monkeypatch, modname, *names):
    @hookimpl
    def pywatt_register_encoders(register):
        for n in names:
            register(n, _Enc(n))

    return _fake_plugin(monkeypatch, modname, pywatt_register_encoders=pywatt_register_encoders)


def test_components_register_under_their_plugin(monkeypatch):
    ep = _encoder_plugin(monkeypatch, "fakeplug_alpha", "rot13", "b64")
    plugins = build_plugins(entry_points=[ep], env={})
    assert plugins.encoders.names() == ["b64", "rot13"]
    assert plugins.encoders.owner("rot13") == "alpha"
    [info] = plugins.plugins()
    assert info.name == "alpha"
    assert info.registered == {"encoder": ["rot13", "b64"]}


def test_duplicate_name_names_both_plugins(monkeypatch):
    a = _encoder_plugin(monkeypatch, "fakeplug_acme", "tcp", "acme-only")
    b = _encoder_plugin(monkeypatch, "fakeplug_comm", "tcp", "comm-only")
    plugins = build_plugins(entry_points=[b, a], env={})
    # The name is ambiguous, so using it fails; everything else keeps working.
    with pytest.raises(
        DuplicateComponentError, match="encoder 'tcp' registered by both 'acme' and 'comm'"
    ):
        plugins.encoders.get("tcp")
    assert plugins.encoders.get("acme-only") is not None
    assert [b.name for b in plugins.broken] == ["comm"]


def test_unknown_name_lists_installed(monkeypatch):
    ep = _encoder_plugin(monkeypatch, "fakeplug_beta", "json2", "cbor")
    plugins = build_plugins(entry_points=[ep], env={})
    with pytest.raises(UnknownComponentError, match="no encoder 'quic'; installed: cbor, json2"):
        plugins.encoders.get("quic")


def test_load_order_is_sorted_by_name(monkeypatch):
    eps = [
        _encoder_plugin(monkeypatch, f"fakeplug_{n}", f"enc-{n}") for n in ("zeta", "alpha", "mid")
    ]
    plugins = build_plugins(entry_points=eps, env={})
    assert [p.name for p in plugins.plugins()] == ["alpha", "mid", "zeta"]


def test_disabled_and_allow_lists(monkeypatch):
    eps = [
        _encoder_plugin(monkeypatch, f"fakeplug_{n}", f"enc-{n}") for n in ("one", "two", "three")
    ]
    blocked = build_plugins(entry_points=eps, env={"PYWATT_DISABLED_PLUGINS": "two, three"})
    assert [p.name for p in blocked.plugins()] == ["one"]
    allowed = build_plugins(entry_points=eps, env={"PYWATT_LOAD_PLUGINS": "three"})
    assert [p.name for p in allowed.plugins()] == ["three"]
    assert allowed.encoders.names() == ["enc-three"]


def test_broken_plugin_error_names_plugin_and_cause(monkeypatch):
    ep = md.EntryPoint("broken", "pywatt_no_such_module_for_tests", "pywatt")
    healthy = _encoder_plugin(monkeypatch, "fakeplug_fine", "fine-enc")
    plugins = build_plugins(entry_points=[ep, healthy], env={})
    [broken] = plugins.broken
    assert isinstance(broken.error, PluginLoadError)
    msg = str(broken.error)
    assert "'broken'" in msg
    assert "ModuleNotFoundError" in msg
    assert "pywatt_no_such_module_for_tests" in msg
    assert broken.fix == "skip it with PYWATT_DISABLED_PLUGINS=broken"
    # The healthy plugin is unaffected; the listing shows both, the broken one with its error.
    assert plugins.encoders.get("fine-enc") is not None
    infos = {info.name: info for info in plugins.plugins()}
    assert infos["broken"].error == msg
    assert infos["broken"].fix == "PYWATT_DISABLED_PLUGINS=broken"
    assert infos["fine"].error is None
    # A name nobody provides mentions the broken plugin, which might have.
    with pytest.raises(UnknownComponentError, match="plugin 'broken' failed to load"):
        plugins.encoders.get("missing")
    # The block list skips it before import.
    assert (
        build_plugins(entry_points=[ep], env={"PYWATT_DISABLED_PLUGINS": "broken"}).plugins() == []
    )


def test_misspelled_hook_is_contained_with_a_suggestion(monkeypatch):
    @hookimpl
    def pywatt_register_chanels(register):  # the typo is the point
        register("x", object())

    ep = _fake_plugin(monkeypatch, "fakeplug_typo", pywatt_register_chanels=pywatt_register_chanels)
    plugins = build_plugins(entry_points=[ep], env={})
    [broken] = plugins.broken
    assert "'typo' implements an unknown hook 'pywatt_register_chanels'" in str(broken.error)
    assert "did you mean 'pywatt_register_channels'?" in str(broken.error)


def test_failing_register_hook_is_attributed_and_contained(monkeypatch):
    @hookimpl
    def pywatt_register_encoders(register):
        register("half-done", _Enc("half-done"))

    @hookimpl
    def pywatt_register_cache_backends(register):
        raise RuntimeError("boom")

    ep = _fake_plugin(
        monkeypatch,
        "fakeplug_faulty",
        pywatt_register_encoders=pywatt_register_encoders,
        pywatt_register_cache_backends=pywatt_register_cache_backends,
    )
    other = _encoder_plugin(monkeypatch, "fakeplug_other", "other-enc")
    plugins = build_plugins(entry_points=[ep, other], env={})
    assert [b.name for b in plugins.broken] == ["faulty"]
    expected = r"'faulty' failed in pywatt_register_cache_backends: RuntimeError: boom"
    # What the broken plugin registered before failing is withdrawn and says why.
    with pytest.raises(PluginError, match=expected):
        plugins.encoders.get("half-done")
    assert plugins.encoders.get("other-enc") is not None


def test_lifecycle_hooks_reach_plugins(monkeypatch):
    seen = []

    @hookimpl
    def pywatt_module_stopping(state, reason):
        seen.append((state, reason))

    ep = _fake_plugin(monkeypatch, "fakeplug_life", pywatt_module_stopping=pywatt_module_stopping)
    plugins = build_plugins(entry_points=[ep], env={})
    sentinel = object()
    anyio.run(plugins.hooks.module_stopping, sentinel, "eof")
    assert seen == [(sentinel, "eof")]


def test_async_lifecycle_hooks_are_awaited(monkeypatch):
    seen = []

    @hookimpl
    async def pywatt_module_started(state):
        await anyio.sleep(0)
        seen.append(("started", state))

    @hookimpl
    def pywatt_module_configured(config):
        seen.append(("configured", config))

    ep = _fake_plugin(
        monkeypatch,
        "fakeplug_alife",
        pywatt_module_started=pywatt_module_started,
        pywatt_module_configured=pywatt_module_configured,
    )
    plugins = build_plugins(entry_points=[ep], env={})
    anyio.run(plugins.hooks.module_configured, "cfg")
    anyio.run(plugins.hooks.module_started, "state")
    assert seen == [("configured", "cfg"), ("started", "state")]


def test_trace_logs_registrations(monkeypatch, caplog):
    ep = _encoder_plugin(monkeypatch, "fakeplug_traced", "t1")
    with caplog.at_level("INFO", logger="pywatt.plugins"):
        build_plugins(entry_points=[ep], env={"PYWATT_TRACE_PLUGINS": "1"})
    assert "registered encoder 't1'" in caplog.text


def test_core_registers_json_through_its_entry_point():
    reset_plugins()
    try:
        plugins = get_plugins()
        assert plugins.encoders.owner("json") == "core"
        core = next(p for p in plugins.plugins() if p.name == "core")
        assert core.distribution == "pywatt-core"
        assert core.version == "0.1.0"
        assert get_plugins() is plugins  # built once
    finally:
        reset_plugins()


def test_importing_core_does_no_discovery():
    import subprocess

    code = (
        "import importlib.metadata as md\n"
        "calls = []\n"
        "orig = md.entry_points\n"
        "md.entry_points = lambda *a, **k: calls.append(1) or orig(*a, **k)\n"
        "import pywatt.core, pywatt.core.plugins as p\n"
        "assert p._plugins is None, 'manager built at import'\n"
        "assert not calls, 'entry points read at import'\n"
        "import sys; assert 'pydantic' not in sys.modules, 'pydantic imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lazy_components_import_on_first_lookup(monkeypatch):
    from pywatt.core.plugins import lazy

    module = types.ModuleType("fakeplug_lazy_impl")
    module.Encoder = type("Encoder", (_Enc,), {})  # type: ignore[attr-defined]
    imported: list[str] = []

    @hookimpl
    def pywatt_register_encoders(register):
        register("later", lazy("fakeplug_lazy_impl:Encoder", call=True))
        register("missing", lazy("fakeplug_no_such_module_anywhere:Thing"))

    ep = _fake_plugin(
        monkeypatch, "fakeplug_lazy", pywatt_register_encoders=pywatt_register_encoders
    )
    real_import = __import__("importlib").import_module

    def tracking_import(name, *args):
        imported.append(name)
        if name == "fakeplug_lazy_impl":
            return module
        return real_import(name, *args)

    monkeypatch.setattr("importlib.import_module", tracking_import)
    plugins = build_plugins(entry_points=[ep], env={})
    assert plugins.encoders.names() == ["later", "missing"]
    assert "fakeplug_lazy_impl" not in imported  # registering imported nothing
    encoder = plugins.encoders.get("later")
    assert isinstance(encoder, module.Encoder)
    assert plugins.encoders.get("later") is encoder  # built once
    # A lazy component that cannot be imported is contained: its lookup names plugin and path.
    with pytest.raises(PluginError, match=r"plugin 'lazy': encoder 'missing' \(fakeplug_no_such"):
        plugins.encoders.get("missing")
    assert [name for name, _ in plugins.encoders.items()] == ["later"]
