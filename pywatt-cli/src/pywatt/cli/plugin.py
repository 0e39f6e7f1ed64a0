"""pywatt-cli's plugin: the commands it adds to ``pywatt`` (``plugins`` is built in)."""

from __future__ import annotations

from pywatt.core.hookspecs import Register
from pywatt.core.plugins import hookimpl, lazy


@hookimpl
def pywatt_register_commands(register: Register) -> None:
    register("run", lazy("pywatt.cli.run:run_command"))
    register("new", lazy("pywatt.cli.new:new_group"))
