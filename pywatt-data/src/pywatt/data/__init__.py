"""pywatt-data: database and cache backends."""

from __future__ import annotations

# --- cache ---
from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
    from pywatt.data.cache import (
        BackendStats,
        Cache,
        CacheConfig,
        CacheSettings,
        CacheStats,
        EncodedCache,
        FileCacheConfig,
        MemcachedCacheConfig,
        MemoryCacheConfig,
        RedisCacheConfig,
        incremented,
        open_cache,
    )

    # --- database ---
    from pywatt.data.database import (
        Database,
        DatabaseSettings,
        Transaction,
        open_database,
        reveal,
        to_positional,
    )
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

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
_LAZY: dict[str, str] = {
    "BackendStats": "pywatt.data.cache",
    "Cache": "pywatt.data.cache",
    "CacheConfig": "pywatt.data.cache",
    "CacheSettings": "pywatt.data.cache",
    "incremented": "pywatt.data.cache",
    "CacheStats": "pywatt.data.cache",
    "EncodedCache": "pywatt.data.cache",
    "FileCacheConfig": "pywatt.data.cache",
    "MemcachedCacheConfig": "pywatt.data.cache",
    "MemoryCacheConfig": "pywatt.data.cache",
    "RedisCacheConfig": "pywatt.data.cache",
    "open_cache": "pywatt.data.cache",
    "Database": "pywatt.data.database",
    "DatabaseSettings": "pywatt.data.database",
    "Transaction": "pywatt.data.database",
    "open_database": "pywatt.data.database",
    "reveal": "pywatt.data.database",
    "to_positional": "pywatt.data.database",
    "CacheOutcomeUnknownError": "pywatt.data.errors",
    "DatabaseConfigError": "pywatt.data.errors",
    "DatabaseConnectionError": "pywatt.data.errors",
    "DatabaseError": "pywatt.data.errors",
    "DatabaseIntegrityError": "pywatt.data.errors",
    "DatabaseOutcomeUnknownError": "pywatt.data.errors",
    "DatabaseParameterError": "pywatt.data.errors",
    "DatabaseQueryError": "pywatt.data.errors",
    "DatabaseTimeoutError": "pywatt.data.errors",
    "OutcomeUnknownError": "pywatt.data.errors",
    "StatementRewriteError": "pywatt.data.errors",
    "TransactionClosedError": "pywatt.data.errors",
}

__all__ = [
    "BackendStats",
    "Cache",
    "CacheConfig",
    "CacheOutcomeUnknownError",
    "CacheSettings",
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
    "incremented",
    "open_cache",
    "open_database",
    "reveal",
    "to_positional",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
