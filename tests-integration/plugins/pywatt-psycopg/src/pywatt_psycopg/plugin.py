"""The entry point's module: the ``psycopg`` scheme, imported on first use."""

from __future__ import annotations

from pywatt.core import RegisterDatabaseBackend, hookimpl, lazy


@hookimpl
def pywatt_register_database_backends(register: RegisterDatabaseBackend) -> None:
    register("psycopg", lazy("pywatt_psycopg.database:PsycopgDatabase"))
