"""pywatt-data's plugin module: the database and cache backends it provides."""

from __future__ import annotations

from pywatt.core.contracts import RegisterCacheBackend, RegisterDatabaseBackend
from pywatt.core.plugins import hookimpl, lazy


@hookimpl
def pywatt_register_database_backends(register: RegisterDatabaseBackend) -> None:
    # Imported on first use: SQLAlchemy loads only in a process that opens a database.
    register("sqlite", lazy("pywatt.data.database.factory:sqlite_backend"))
    register("postgres", lazy("pywatt.data.database.factory:postgres_backend"))
    register("mysql", lazy("pywatt.data.database.factory:mysql_backend"))
    register("proxy", lazy("pywatt.data.database.proxy:proxy_backend"))


@hookimpl
def pywatt_register_cache_backends(register: RegisterCacheBackend) -> None:
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
