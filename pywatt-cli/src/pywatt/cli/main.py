"""The ``pywatt`` command group. Plugins add commands through ``pywatt_register_commands``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from pywatt.core.errors import PluginError
from pywatt.core.plugins import PluginInfo, get_plugins

__all__ = ["cli", "main"]


class PluginCommandGroup(click.Group):
    """A group whose extra commands come from the plugin registry, looked up only on demand."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        registry = get_plugins().commands
        return {name: cmd for name, cmd in registry.items() if isinstance(cmd, click.Command)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            extra = set(self._plugin_commands())
        except PluginError:
            extra = set()  # ``--help`` still works; running a plugin command reports the error
        return sorted(set(super().list_commands(ctx)) | extra)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        builtin = super().get_command(ctx, cmd_name)
        if builtin is not None:
            return builtin
        try:
            return self._plugin_commands().get(cmd_name)
        except PluginError as exc:
            # Saying "no such command" would hide the real problem: a plugin failed to load.
            raise click.ClickException(
                f"{exc}\n(skip it with PYWATT_DISABLED_PLUGINS=<plugin name>)"
            ) from exc


@click.group(cls=PluginCommandGroup)
@click.version_option(package_name="pywatt-cli")
def cli() -> None:
    """Build, run and inspect PyWatt modules."""


def _format_plugin(info: PluginInfo) -> str:
    origin = f"{info.distribution} {info.version}" if info.distribution else info.module
    head = f"{info.name} ({origin})"
    if not info.registered:
        return f"{head}\n    registers nothing"
    lines = [head]
    for kind, names in sorted(info.registered.items()):
        lines.append(f"    {kind}: {', '.join(names)}")
    return "\n".join(lines)


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins_command(as_json: bool) -> None:
    """List loaded plugins, their distribution and what each registered."""
    try:
        infos = get_plugins().plugins()
    except PluginError as exc:
        if as_json:
            click.echo(json.dumps({"error": str(exc)}))
        else:
            click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        payload: dict[str, Any] = {"plugins": [info.as_dict() for info in infos]}
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    for info in infos:
        click.echo(_format_plugin(info))


def main() -> None:
    cli()
