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
    # Configuration classes by import path: a module that opens no cache loads none of them,
    # and each imports its driver only when a cache is opened.
    for scheme, config in (
        ("memory", "MemoryCacheConfig"),
        ("file", "FileCacheConfig"),
        ("redis", "RedisCacheConfig"),
        ("memcached", "MemcachedCacheConfig"),
        ("proxy", "ProxyCacheConfig"),
    ):
        register(scheme, lazy(f"pywatt.data.cache.config:{config}"))
