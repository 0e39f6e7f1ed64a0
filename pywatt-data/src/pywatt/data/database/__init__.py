"""One async database API over SQLite, PostgreSQL and MySQL/MariaDB (and plugin backends)."""

from __future__ import annotations

from pywatt.data.database.base import (
    Database,
    DatabaseSettings,
    Params,
    Queries,
    Row,
    SecretLike,
    Transaction,
)
from pywatt.data.database.factory import open_database

__all__ = [
    "Database",
    "DatabaseSettings",
    "Params",
    "Queries",
    "Row",
    "SecretLike",
    "Transaction",
    "open_database",
]
