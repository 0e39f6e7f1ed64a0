"""The ``pywatt`` command group. Plugins add commands through ``pywatt_register_commands``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from pywatt.cli.completion import complete_plugin_names, completion_command
from pywatt.cli.doctor import doctor_command
from pywatt.core.errors import PluginError
from pywatt.core.plugins import PluginInfo, get_plugins

__all__ = ["cli", "main"]


class PluginCommandGroup(click.Group):
    """A group whose extra commands come from the plugin registry, looked up only on demand.

    A broken plugin costs only its own commands: the others still run, and ``--help`` says
    which plugin failed and how to skip it.
    """

    def _plugin_commands(self) -> dict[str, click.Command]:
        registry = get_plugins().commands
        found: dict[str, click.Command] = {}
        for name in registry.names():
            try:
                command = registry.get(name)
            except PluginError:
                continue  # withdrawn: its plugin broke
            if isinstance(command, click.Command):
                found[name] = command
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugin_commands()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        builtin = super().get_command(ctx, cmd_name)
        if builtin is not None:
            return builtin
        # Only the command asked for is imported: `pywatt run` never loads another plugin's.
        registry = get_plugins().commands
        found: click.Command | None = None
        if cmd_name in registry:
            try:
                command = registry.get(cmd_name)
            except PluginError as exc:
                raise click.ClickException(str(exc)) from exc
            found = command if isinstance(command, click.Command) else None
        if found is None and get_plugins().broken:
            # Saying only "no such command" would hide that a broken plugin may provide it.
            raise click.UsageError(f"no command {cmd_name!r}.\n{_broken_summary()}", ctx=ctx)
        return found

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        if get_plugins().broken:
            formatter.write_paragraph()
            formatter.write_text(_broken_summary())


def _broken_summary() -> str:
    lines = ["Plugins that failed to load (their commands are missing):"]
    for broken in get_plugins().broken:
        lines.append(f"  {broken.name}: {broken.error} ({broken.fix})")
    return "\n".join(lines)


@click.group(cls=PluginCommandGroup)
@click.version_option(package_name="pywatt-cli")
def cli() -> None:
    """Build, run and inspect PyWatt modules."""


def _format_plugin(info: PluginInfo) -> str:
    origin = f"{info.distribution} {info.version}" if info.distribution else info.module
    head = f"{info.name} ({origin})"
    if info.error is not None:
        return f"{head}\n    BROKEN: {info.error}\n    fix: {info.fix}"
    if not info.registered:
        return f"{head}\n    registers nothing"
    lines = [head]
    for kind, names in sorted(info.registered.items()):
        lines.append(f"    {kind}: {', '.join(names)}")
    return "\n".join(lines)


@cli.command("plugins")
@click.argument("names", nargs=-1, shell_complete=complete_plugin_names)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins_command(names: tuple[str, ...], as_json: bool) -> None:
    """List every plugin (or those NAMES), its distribution and what it registered; exit 1 if
    any listed is broken."""
    infos = get_plugins().plugins()
    if names:
        unknown = sorted(set(names) - {info.name for info in infos})
        if unknown:
            installed = ", ".join(info.name for info in infos)
            raise click.BadParameter(f"no plugin {', '.join(unknown)}; installed: {installed}")
        infos = [info for info in infos if info.name in names]
    if as_json:
        payload: dict[str, Any] = {"plugins": [info.as_dict() for info in infos]}
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        for info in infos:
            click.echo(_format_plugin(info))
    if any(info.error is not None for info in infos):
        sys.exit(1)


# Built in, not registered by pywatt-cli's plugin: they must work when plugins are broken.
cli.add_command(doctor_command)
cli.add_command(completion_command)


def main() -> None:
    cli()
