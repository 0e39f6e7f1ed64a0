"""pywatt-data: database and cache backends."""

from __future__ import annotations

# --- database ---
from pywatt.data.database import Database, DatabaseSettings, Transaction, open_database
from pywatt.data.errors import (
    DatabaseConfigError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabaseParameterError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    TransactionClosedError,
)

__all__ = [
    # --- database ---
    "Database",
    "DatabaseConfigError",
    "DatabaseConnectionError",
    "DatabaseError",
    "DatabaseIntegrityError",
    "DatabaseParameterError",
    "DatabaseQueryError",
    "DatabaseSettings",
    "DatabaseTimeoutError",
    "Transaction",
    "TransactionClosedError",
    "open_database",
]
