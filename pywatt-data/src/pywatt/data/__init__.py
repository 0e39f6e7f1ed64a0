"""pywatt-data: database and cache backends."""

from __future__ import annotations

# --- cache ---
from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
    from pywatt.data.cache import (
        BackendStats as BackendStats,
        Cache as Cache,
        CacheConfig as CacheConfig,
        CacheSettings as CacheSettings,
        CacheStats as CacheStats,
        EncodedCache as EncodedCache,
        FileCacheConfig as FileCacheConfig,
        MemcachedCacheConfig as MemcachedCacheConfig,
        MemoryCacheConfig as MemoryCacheConfig,
        RedisCacheConfig as RedisCacheConfig,
        incremented as incremented,
        open_cache as open_cache,
    )
    from pywatt.data.database import (
        Database as Database,
        DatabaseSettings as DatabaseSettings,
        Transaction as Transaction,
        open_database as open_database,
        reveal as reveal,
        to_positional as to_positional,
    )
    from pywatt.data.errors import (
        CacheOutcomeUnknownError as CacheOutcomeUnknownError,
        DatabaseConfigError as DatabaseConfigError,
        DatabaseConnectionError as DatabaseConnectionError,
        DatabaseError as DatabaseError,
        DatabaseIntegrityError as DatabaseIntegrityError,
        DatabaseOutcomeUnknownError as DatabaseOutcomeUnknownError,
        DatabaseParameterError as DatabaseParameterError,
        DatabaseQueryError as DatabaseQueryError,
        DatabaseTimeoutError as DatabaseTimeoutError,
        OutcomeUnknownError as OutcomeUnknownError,
        StatementRewriteError as StatementRewriteError,
        TransactionClosedError as TransactionClosedError,
    )

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "pywatt.data.cache": (
            "BackendStats Cache CacheConfig CacheSettings CacheStats EncodedCache FileCacheConfig "
            "incremented MemcachedCacheConfig MemoryCacheConfig open_cache RedisCacheConfig"
        ),
        "pywatt.data.database": (
            "Database DatabaseSettings open_database reveal to_positional Transaction"
        ),
        "pywatt.data.errors": (
            "CacheOutcomeUnknownError DatabaseConfigError DatabaseConnectionError DatabaseError "
            "DatabaseIntegrityError DatabaseOutcomeUnknownError DatabaseParameterError "
            "DatabaseQueryError DatabaseTimeoutError OutcomeUnknownError StatementRewriteError "
            "TransactionClosedError"
        ),
    },
)
