"""``pywatt completion SHELL``: the shell's completion script, from click's shell completion.

Loading it makes the shell call ``pywatt`` back with ``_PYWATT_COMPLETE`` set, so commands
that plugins add complete too. Module-file arguments offer ``.py`` files and folders only;
plugin-name arguments offer the installed plugins' names.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from click.shell_completion import CompletionItem, get_completion_class

__all__ = ["complete_module_files", "complete_plugin_names", "completion_command"]

SHELLS = ("bash", "zsh", "fish")


def complete_module_files(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """``.py`` files and folders (to descend into) starting with ``incomplete``.

    All are ``plain`` items: click's scripts answer a ``file`` item with every file there is.
    """
    head, _, stem = incomplete.rpartition(os.sep)
    folder = Path(head or ".")
    if not folder.is_dir():
        return []
    items: list[CompletionItem] = []
    for entry in sorted(folder.iterdir()):
        if not entry.name.startswith(stem) or entry.name.startswith("."):
            continue
        shown = f"{head}{os.sep}{entry.name}" if head else entry.name
        if entry.is_dir():
            items.append(CompletionItem(shown + os.sep))
        elif entry.suffix == ".py":
            items.append(CompletionItem(shown))
    return items


def complete_plugin_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The installed plugins' names (broken ones included) starting with ``incomplete``."""
    from pywatt.core.plugins import get_plugins

    return [
        CompletionItem(info.name, help=info.distribution or info.module)
        for info in get_plugins().plugins()
        if info.name.startswith(incomplete)
    ]


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion_command(shell: str) -> None:
    """Print the completion script of SHELL (bash, zsh or fish).

    Load it with ``eval "$(pywatt completion bash)"`` (or add that line to ~/.bashrc).
    """
    from pywatt.cli.main import cli

    completion_class = get_completion_class(shell)
    if completion_class is None:  # click knows all three; a guard for a future click
        raise click.ClickException(f"click has no completion for {shell}")
    script = completion_class(cli, {}, "pywatt", "_PYWATT_COMPLETE").source()
    click.echo(script)
