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
    "Cache",
    "CacheConfig",
    "CacheStats",
    "Database",
    "DatabaseConfigError",
    "DatabaseConnectionError",
    "DatabaseError",
    "DatabaseIntegrityError",
    "DatabaseParameterError",
    "DatabaseQueryError",
    "DatabaseSettings",
    "DatabaseTimeoutError",
    "EncodedCache",
    "FileCacheConfig",
    "MemcachedCacheConfig",
    "MemoryCacheConfig",
    "RedisCacheConfig",
    "Transaction",
    "TransactionClosedError",
    "open_cache",
    "open_database",
]
