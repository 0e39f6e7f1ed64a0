"""pywatt-data's plugin module: the database and cache backends it provides."""

from __future__ import annotations

from pywatt.core.hookspecs import Register
from pywatt.core.plugins import hookimpl


@hookimpl
def pywatt_register_database_backends(register: Register) -> None:
    from pywatt.data.database.factory import mysql_backend, postgres_backend, sqlite_backend
    from pywatt.data.database.proxy import proxy_backend

    register("sqlite", sqlite_backend)
    register("postgres", postgres_backend)
    register("mysql", mysql_backend)
    register("proxy", proxy_backend)


@hookimpl
def pywatt_register_cache_backends(register: Register) -> None:
    # Configuration classes only: each imports its driver when a cache is opened.
    from pywatt.data.cache.config import (
        FileCacheConfig,
        MemcachedCacheConfig,
        MemoryCacheConfig,
        ProxyCacheConfig,
        RedisCacheConfig,
    )

    for config_type in (
        MemoryCacheConfig,
        FileCacheConfig,
        RedisCacheConfig,
        MemcachedCacheConfig,
        ProxyCacheConfig,
    ):
        register(config_type.scheme, config_type)
