"""pywatt-cli's plugin: the commands it adds to ``pywatt`` (``plugins`` is built in)."""

from __future__ import annotations

from pywatt.core.hookspecs import Register
from pywatt.core.plugins import hookimpl


@hookimpl
def pywatt_register_commands(register: Register) -> None:
    from pywatt.cli.run import run_command

    register("run", run_command)
