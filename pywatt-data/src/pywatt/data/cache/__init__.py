"""One async cache API over memory, file, Redis and memcached (and plugins' backends).

Importing this package imports no driver: a backend's driver loads when a cache is opened.
"""

from __future__ import annotations

from pywatt.data.cache._numbers import incremented
from pywatt.data.cache.base import (
    LOCK_PREFIX,
    BackendStats,
    Cache,
    CacheConfig,
    CacheSettings,
    CacheStats,
)
from pywatt.data.cache.config import (
    FileCacheConfig,
    MemcachedCacheConfig,
    MemoryCacheConfig,
    RedisCacheConfig,
    open_cache,
)
from pywatt.data.cache.encoded import EncodedCache

__all__ = [
    "LOCK_PREFIX",
    "BackendStats",
    "Cache",
    "CacheConfig",
    "CacheSettings",
    "CacheStats",
    "EncodedCache",
    "FileCacheConfig",
    "MemcachedCacheConfig",
    "MemoryCacheConfig",
    "RedisCacheConfig",
    "incremented",
    "open_cache",
]
