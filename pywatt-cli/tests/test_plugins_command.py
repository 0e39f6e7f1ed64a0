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


def _with_broken_plugin(monkeypatch):
    """Discovery finds a plugin whose import fails, next to a healthy one with a command."""
    import importlib.metadata as md

    import pywatt.core.plugins as plugins_mod
    from pywatt.core import hookimpl

    @click.command()
    def hello() -> None:
        click.echo("hi from the healthy plugin")

    class Healthy:
        @hookimpl
        def pywatt_register_commands(self, register):
            register("hello", hello)

    broken = md.EntryPoint("acme", "pywatt_no_such_module_for_cli_tests", "pywatt")
    real_build = plugins_mod.build_plugins
    monkeypatch.setattr(
        plugins_mod,
        "build_plugins",
        lambda **kw: real_build(entry_points=[broken], extra=[("healthy", Healthy())], env={}),
    )


def test_broken_plugin_is_listed_with_its_fix_and_the_rest_works(monkeypatch):
    _with_broken_plugin(monkeypatch)
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 1
    infos = {p["name"]: p for p in json.loads(result.output)["plugins"]}
    assert "ModuleNotFoundError" in infos["acme"]["error"]
    assert infos["acme"]["fix"] == "PYWATT_DISABLED_PLUGINS=acme"
    assert infos["healthy"]["registered"] == {"command": ["hello"]}
    text = CliRunner().invoke(cli, ["plugins"])
    assert text.exit_code == 1
    assert "acme (pywatt_no_such_module_for_cli_tests)\n    BROKEN: " in text.output
    assert "fix: PYWATT_DISABLED_PLUGINS=acme" in text.output
    # The healthy plugin's command runs; --help names the broken plugin and its fix.
    ran = CliRunner().invoke(cli, ["hello"])
    assert (ran.exit_code, ran.output) == (0, "hi from the healthy plugin\n")
    helped = CliRunner().invoke(cli, ["--help"])
    assert helped.exit_code == 0
    assert "hello" in helped.output
    assert "acme:" in helped.output
    assert "PYWATT_DISABLED_PLUGINS=acme" in helped.output
    missing = CliRunner().invoke(cli, ["nope"])
    assert missing.exit_code == 2
    assert "PYWATT_DISABLED_PLUGINS=acme" in missing.output
