"""pywatt-cli's plugin: the commands it adds to ``pywatt`` (``plugins`` is built in)."""

from __future__ import annotations

from pywatt.core.contracts import RegisterCommand
from pywatt.core.plugins import hookimpl, lazy


@hookimpl
def pywatt_register_commands(register: RegisterCommand) -> None:
    register("run", lazy("pywatt.cli.run:run_command"))
