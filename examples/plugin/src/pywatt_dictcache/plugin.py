"""The plugin module named by the ``pywatt`` entry point: it registers the ``dict`` scheme."""

from __future__ import annotations

from pywatt.core import RegisterCacheBackend, hookimpl, lazy


@hookimpl
def pywatt_register_cache_backends(register: RegisterCacheBackend) -> None:
    # By import path: the backend module loads only when a dict:// cache is opened.
    register("dict", lazy("pywatt_dictcache.cache:DictCache"))
