"""One async database API over SQLite, PostgreSQL and MySQL/MariaDB (and plugin backends)."""

from __future__ import annotations

# For backend authors: the placeholders of a statement, found with the dialect's tokenizer.
from pywatt.data.database._statements import to_positional
from pywatt.data.database.base import (
    Database,
    DatabaseSettings,
    Params,
    Queries,
    Row,
    SecretLike,
    Transaction,
    reveal,
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
    "reveal",
    "to_positional",
]
