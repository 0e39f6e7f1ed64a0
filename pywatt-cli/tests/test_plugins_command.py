from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from pywatt.cli import cli
from pywatt.core.plugins import reset_plugins


@pytest.fixture(autouse=True)
def _fresh_plugins():
    reset_plugins()
    yield
    reset_plugins()


def test_plugins_json_lists_core_and_cli():
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    plugins = {p["name"]: p for p in json.loads(result.output)["plugins"]}
    assert plugins["core"]["registered"] == {"encoder": ["json"]}
    assert plugins["cli"]["distribution"] == "pywatt-cli"


def test_plugins_text_lists_registrations():
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert "core (pywatt-core 0.1.0)" in result.output
    assert "encoder: json" in result.output


def test_registered_command_is_reachable(monkeypatch):
    import pywatt.core.plugins as plugins_mod
    from pywatt.core import hookimpl

    @click.command()
    def hello() -> None:
        click.echo("hi from plugin")

    class Extra:
        @hookimpl
        def pywatt_register_commands(self, register):
            register("hello", hello)

    real_build = plugins_mod.build_plugins
    monkeypatch.setattr(
        plugins_mod, "build_plugins", lambda **kw: real_build(extra=[("extra", Extra())])
    )
    result = CliRunner().invoke(cli, ["hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hi from plugin\n"
    assert "hello" in CliRunner().invoke(cli, ["--help"]).output


def test_plugin_error_is_reported_not_raised(monkeypatch):
    monkeypatch.setenv("PYWATT_LOAD_PLUGINS", "core")
    import pywatt.core.plugins as plugins_mod
    from pywatt.core.errors import PluginLoadError

    def broken(**kw):
        raise PluginLoadError("bad", "pywatt-bad", "9.9", ImportError("nope"))

    monkeypatch.setattr(plugins_mod, "build_plugins", broken)
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 1
    assert "pywatt-bad 9.9" in json.loads(result.output)["error"]
