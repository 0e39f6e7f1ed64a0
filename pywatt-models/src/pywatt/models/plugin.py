"""pywatt-models' plugin: the three first-party schema dialects and the ``models`` command."""

from __future__ import annotations

from pywatt.core.hookspecs import Register
from pywatt.core.plugins import hookimpl


@hookimpl
def pywatt_register_model_dialects(register: Register) -> None:
    from pywatt.models.dialects import FIRST_PARTY

    for dialect in FIRST_PARTY:
        register(dialect.name, dialect)


@hookimpl
def pywatt_register_commands(register: Register) -> None:
    from pywatt.models.cli import models_command

    register("models", models_command)
