"""pywatt-models' plugin: the three first-party schema dialects and the ``models`` command."""

from __future__ import annotations

from pywatt.core.contracts import RegisterCommand, RegisterModelDialect
from pywatt.core.plugins import hookimpl, lazy


@hookimpl
def pywatt_register_model_dialects(register: RegisterModelDialect) -> None:
    # Imported on first use: SQLAlchemy and Alembic load only where schemas are handled.
    for name, attr in (("sqlite", "SQLITE"), ("postgresql", "POSTGRESQL"), ("mysql", "MYSQL")):
        register(name, lazy(f"pywatt.models.dialects:{attr}"))


@hookimpl
def pywatt_register_commands(register: RegisterCommand) -> None:
    register("models", lazy("pywatt.models.cli:models_command"))
