"""Every hook is documented with its full signature, and the plugin-author pages' examples run."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import anyio
import pytest

from pywatt.core import hookspecs, plugins as plugins_module
from pywatt.core.plugins import Plugins, build_plugins

DOCS = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("pywatt_"))


def _signature(name: str) -> str:
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"def {name}({params}) -> {sig.return_annotation}"


def test_there_are_hooks_to_document():
    assert len(HOOKS) >= 10


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_signature(hook):
    text = DOCS.read_text()
    assert f"\n## {hook}\n" in text, f"docs/hooks.md has no section for {hook}"
    section = text.split(f"\n## {hook}\n", 1)[1].split("\n## ", 1)[0]
    assert _signature(hook) in section


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_docstring_gives_every_parameter(hook):
    fn = getattr(hookspecs, hook)
    for param in inspect.signature(fn).parameters:
        assert f":param {param}:" in (fn.__doc__ or ""), f"{hook} lacks :param {param}:"


# -- the plugin-author pages: their examples run as printed ---------------------------------

ROOT = DOCS.parents[1]
PLUGIN_PAGES = sorted((ROOT / "docs").glob("plugin-*.md"))
_FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _python_blocks(page: Path) -> list[str]:
    return _FENCE.findall(page.read_text())


def _page_module(name: str, monkeypatch: pytest.MonkeyPatch, *, skip: str = "") -> Any:
    """The page's python blocks run as one module (blocks naming a repo file excluded)."""
    code = "\n\n".join(
        block
        for block in _python_blocks(ROOT / "docs" / f"plugin-{name}.md")
        if not block.startswith("# examples/") and not (skip and skip in block)
    )
    module = types.ModuleType(f"docs_plugin_{name.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, f"docs/plugin-{name}.md", "exec"), module.__dict__)
    return module


def _install(monkeypatch: pytest.MonkeyPatch, module: Any) -> Plugins:
    """Make the page's hooks part of the process-wide plugins, as an installed plugin's are."""
    plugins = build_plugins(extra=[("docs-page", module)])
    assert plugins.broken == [], [str(b.error) for b in plugins.broken]
    monkeypatch.setattr(plugins_module, "_plugins", plugins)
    return plugins


def test_there_is_a_page_per_contract():
    names = {p.stem.removeprefix("plugin-") for p in PLUGIN_PAGES}
    assert names == {
        "cache-backend",
        "database-backend",
        "server-adapter",
        "encoder",
        "command",
        "channel",
        "broker",
        "authenticator",
    }
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in PLUGIN_PAGES:
        assert page.name in nav, f"{page.name} is not in mkdocs.yml's nav"


@pytest.mark.parametrize("page", PLUGIN_PAGES, ids=lambda p: p.stem)
def test_files_shown_on_a_page_are_the_repository_files(page):
    shown = [b for b in _FENCE.findall(page.read_text()) if b.startswith("# examples/")]
    toml = re.findall(r"^```toml\n(# examples/.*?)^```", page.read_text(), re.S | re.M)
    for block in shown + toml:
        path, _, body = block.partition("\n")
        assert (ROOT / path.removeprefix("# ")).read_text() == body, f"{path} differs"


def test_the_example_distribution_is_installed_and_opens_its_scheme():
    # The integration session installs examples/plugin like any third-party distribution.
    from pywatt.core.plugins import get_plugins, reset_plugins
    from pywatt.data import open_cache

    reset_plugins()
    try:
        cache = open_cache("dict://docs-check")
        assert type(cache).__name__ == "DictCache"
        info = next(p for p in get_plugins().plugins() if p.name == "dictcache")
        assert info.distribution == "pywatt-dictcache"
        assert info.registered == {"cache backend": ["dict"]}
    finally:
        reset_plugins()


def test_plugins_page_example_registers_as_printed(monkeypatch):
    text = (ROOT / "docs" / "plugins.md").read_text()
    [hook] = [b for b in _FENCE.findall(text) if "pywatt_register_cache_backends" in b]
    # The author's own module, which the example imports its cache class from.
    from pywatt_dictcache import DictCache

    cache_module = types.ModuleType("acme_pywatt.cache")
    cache_module.AcmeCache = type("AcmeCache", (DictCache,), {"backend": "acme"})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acme_pywatt", types.ModuleType("acme_pywatt"))
    monkeypatch.setitem(sys.modules, "acme_pywatt.cache", cache_module)
    module = types.ModuleType("docs_plugins_page")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(hook, "docs/plugins.md", "exec"), module.__dict__)
    plugins = build_plugins(entry_points=[], extra=[("acme", module)], env={})
    assert plugins.broken == []
    from pywatt.data import open_cache

    cache = open_cache("acme://?namespace=ns", plugins=plugins)
    assert type(cache).__name__ == "AcmeCache"
    assert cache.namespace == "ns"


def _run_kit(tmp_path: Path, name: str, module_code: str, *args: str) -> None:
    """Run a page's kit subclass with pytest, in a process of its own."""
    test = tmp_path / f"test_docs_{name.replace('-', '_')}.py"
    footer = (
        "\n\nimport sys as _sys\nimport pywatt.core.plugins as _plugins\n"
        "_page = _sys.modules[__name__]\n"
        "_plugins._plugins = _plugins.build_plugins(extra=[('docs-page', _page)])\n"
    )
    test.write_text(module_code + footer)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_encoder_page_passes_its_kit(tmp_path):
    code = "\n\n".join(_python_blocks(ROOT / "docs" / "plugin-encoder.md"))
    _run_kit(tmp_path, "encoder", code)


def test_broker_page_passes_its_kit(tmp_path):
    code = "\n\n".join(_python_blocks(ROOT / "docs" / "plugin-broker.md"))
    _run_kit(tmp_path, "broker", code)


def test_authenticator_page_passes_its_kit(tmp_path):
    code = "\n\n".join(_python_blocks(ROOT / "docs" / "plugin-authenticator.md"))
    _run_kit(tmp_path, "authenticator", code)


def test_database_page_backend_works(monkeypatch, tmp_path):
    module = _page_module("database-backend", monkeypatch, skip="Conformance")
    _install(monkeypatch, module)
    assert anyio.run(module.count_users) == 1
    from pywatt.data import TransactionClosedError, open_database

    async def scenario() -> None:
        async with open_database(f"litedb:///{tmp_path / 'x.db'}") as db:
            await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")
            try:
                async with db.transaction() as tx:
                    await tx.execute("INSERT INTO t (b) VALUES (:b)", {"b": bytes(range(256))})
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            assert await db.fetch_value("SELECT count(*) FROM t") == 0
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t (b) VALUES (:b)", {"b": bytes(range(256))})
            with pytest.raises(TransactionClosedError):
                await tx.execute("SELECT 1")
            assert await db.fetch_one("SELECT b FROM t") == {"b": bytes(range(256))}

    anyio.run(scenario)


def test_database_page_passes_its_kit_when_the_kit_ships(tmp_path):
    import importlib.util

    if importlib.util.find_spec("pywatt.data.testing") is None or not hasattr(
        importlib.import_module("pywatt.data.testing"), "DatabaseConformance"
    ):
        # The database kit lands separately; until then the page's backend is tested above.
        assert "DatabaseConformance" in (ROOT / "docs" / "plugin-database-backend.md").read_text()
        return
    code = "\n\n".join(
        b
        for b in _python_blocks(ROOT / "docs" / "plugin-database-backend.md")
        if "count_users" not in b
    )
    _run_kit(tmp_path, "database-backend", code)


def test_server_adapter_page_adapter_wins_for_its_framework(monkeypatch):
    class Quart:
        """Stands in for quart.Quart: a minimal ASGI app."""

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"from quart"})

    monkeypatch.setitem(sys.modules, "quart", types.SimpleNamespace(Quart=Quart))
    module = _page_module("server-adapter", monkeypatch, skip="AdapterConformance")
    plugins = _install(monkeypatch, module)
    from pywatt.core.contracts import HttpExchangeRequest
    from pywatt.server import select_adapter

    adapter = select_adapter(Quart(), plugins=plugins)  # no framework= option
    assert isinstance(adapter, module.QuartAdapter)
    assert select_adapter(lambda: None, "starlette", plugins=plugins).name == "starlette"

    async def exchange() -> bytes:
        runner = adapter.wrap(Quart())
        await runner.startup()
        response = await runner.handle(HttpExchangeRequest("GET", "/", {}, b""))
        await runner.shutdown()
        assert response.status == 200
        return response.body

    assert anyio.run(exchange) == b"from quart"


def test_command_page_runs_as_printed(monkeypatch):
    module = _page_module("command", monkeypatch)
    module.test_hello()
    _install(monkeypatch, module)
    from click.testing import CliRunner

    from pywatt.cli.main import cli

    result = CliRunner().invoke(cli, ["hello", "--shout", "ada"])
    assert result.exit_code == 0, result.output
    assert result.output == "HELLO, ADA\n"


def test_channel_page_answers_heartbeat_http_and_shutdown(monkeypatch, tmp_path):
    module = _page_module("channel", monkeypatch)
    plugins = build_plugins(entry_points=[], extra=[("docs-page", module)], env={})
    from pywatt.core.contracts import HttpExchangeResponse
    from pywatt.core.messages import IpcChannelConfig
    from pywatt.core.protocol import FrameDecoder, decode_envelope, encode_frame

    class Host:
        module_id = "docs"
        stopped: list[str] = []  # noqa: RUF012

        async def handle_http(self, request: Any) -> HttpExchangeResponse:
            return HttpExchangeResponse(201, {"x-path": request.uri}, request.body[::-1])

        def request_stop(self, reason: str) -> None:
            self.stopped.append(reason)

    path = str(tmp_path / "o.sock")

    async def scenario() -> list[Any]:
        listener = await anyio.create_unix_listener(path)
        channel = plugins.channels.get("unix")(IpcChannelConfig(socket_path=path, required=True))
        await channel.connect()
        replies: list[Any] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(channel.run, Host())
            with anyio.fail_after(30):
                conn = await listener.accept()
                await conn.send(encode_frame(b'{"op":"heartbeat"}'))
                request = (
                    b'{"op":"http_request","request_id":"r1","method":"POST","uri":"/x",'
                    b'"headers":{},"body":[1,2,3]}'
                )
                await conn.send(encode_frame(request))
                decoder = FrameDecoder()
                while len(replies) < 2:
                    for _fmt, data in decoder.feed(await conn.receive()):
                        replies.append(decode_envelope(data).content)
                await conn.send(encode_frame(b'{"op":"shutdown"}'))
                while not Host.stopped:
                    await anyio.sleep(0.01)
            await channel.aclose()
            await conn.aclose()
            await listener.aclose()
        return replies

    replies = anyio.run(scenario)
    by_op = {r["op"]: r for r in replies}
    assert by_op["heartbeat_ack"] == {"op": "heartbeat_ack"}
    assert by_op["http_response"]["request_id"] == "r1"
    assert by_op["http_response"]["status_code"] == 201
    assert by_op["http_response"]["body"] == [3, 2, 1]
    assert Host.stopped == ["shutdown"]
