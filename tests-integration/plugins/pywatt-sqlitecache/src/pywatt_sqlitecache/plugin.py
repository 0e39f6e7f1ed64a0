"""The entry point's module: the ``sqlitecache`` scheme, imported on first use."""

from __future__ import annotations

from pywatt.core import RegisterCacheBackend, hookimpl, lazy


@hookimpl
def pywatt_register_cache_backends(register: RegisterCacheBackend) -> None:
    register("sqlitecache", lazy("pywatt_sqlitecache.cache:SqliteCache"))
