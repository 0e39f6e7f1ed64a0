"""pywatt-data: database and cache backends."""

from __future__ import annotations

# --- cache ---
from pywatt.data.cache import (
    Cache,
    CacheConfig,
    CacheStats,
    EncodedCache,
    FileCacheConfig,
    MemcachedCacheConfig,
    MemoryCacheConfig,
    RedisCacheConfig,
    open_cache,
)

# --- database ---
from pywatt.data.database import Database, DatabaseSettings, Transaction, open_database
from pywatt.data.errors import (
    CacheOutcomeUnknownError,
    DatabaseConfigError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabaseOutcomeUnknownError,
    DatabaseParameterError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    OutcomeUnknownError,
    StatementRewriteError,
    TransactionClosedError,
)

__all__ = [
    "Cache",
    "CacheConfig",
    "CacheOutcomeUnknownError",
    "CacheStats",
    "Database",
    "DatabaseConfigError",
    "DatabaseConnectionError",
    "DatabaseError",
    "DatabaseIntegrityError",
    "DatabaseOutcomeUnknownError",
    "DatabaseParameterError",
    "DatabaseQueryError",
    "DatabaseSettings",
    "DatabaseTimeoutError",
    "EncodedCache",
    "FileCacheConfig",
    "MemcachedCacheConfig",
    "MemoryCacheConfig",
    "OutcomeUnknownError",
    "RedisCacheConfig",
    "StatementRewriteError",
    "Transaction",
    "TransactionClosedError",
    "open_cache",
    "open_database",
]
