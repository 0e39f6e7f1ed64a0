"""The entry point's module: the ``pgbroker`` scheme, imported on first use."""

from __future__ import annotations

from pywatt.core import RegisterBroker, hookimpl, lazy


@hookimpl
def pywatt_register_brokers(register: RegisterBroker) -> None:
    # By path: psycopg loads only in a process whose broker URL is pgbroker://.
    register("pgbroker", lazy("pywatt_pgbroker.broker:PgBroker"))
