"""``dict://<store>``: a cache kept in this process, shared by every cache opened on the same store.

A complete backend: subclass :class:`pywatt.data.Cache` and implement its ``_`` primitives on
full keys. The base class validates keys, values and TTLs, applies the namespace, counts hits
and builds locks from ``_set_nx`` and ``_unlock``.
"""

from __future__ import annotations

import time

from pywatt.data import BackendStats, Cache, CacheSettings, incremented

__all__ = ["DictCache"]

# One store per name, so that two caches opened on "dict://a" see the same keys.
_STORES: dict[str, dict[str, tuple[bytes, float | None]]] = {}


class DictCache(Cache):
    backend = "dict"

    def __init__(self, settings: CacheSettings) -> None:
        super().__init__(settings.namespace)
        store = settings.url.partition("://")[2].split("?", 1)[0].strip("/") or "default"
        self._items = _STORES.setdefault(store, {})

    def _live(self, key: str) -> bytes | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= time.monotonic():
            del self._items[key]
            return None
        return value

    def _put(self, key: str, value: bytes, ttl: float | None) -> None:
        self._items[key] = (value, None if ttl is None else time.monotonic() + ttl)

    # Each primitive runs without awaiting, so on one event loop each is atomic.

    async def _get(self, key: str) -> bytes | None:
        return self._live(key)

    async def _set(self, key: str, value: bytes, ttl: float | None) -> None:
        self._put(key, value, ttl)

    async def _delete(self, key: str) -> bool:
        return self._live(key) is not None and self._items.pop(key, None) is not None

    async def _exists(self, key: str) -> bool:
        return self._live(key) is not None

    async def _set_nx(self, key: str, value: bytes, ttl: float | None) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value, ttl)
        return True

    async def _get_set(self, key: str, value: bytes) -> bytes | None:
        old = self._live(key)
        self._put(key, value, None)  # get_set stores without expiry
        return old

    async def _increment(self, key: str, delta: int) -> int:
        old = self._live(key)
        # incremented() applies the shared rules: decimal text only, signed 64-bit range.
        number, stored = incremented(old, delta)
        expires = None if old is None else self._items[key][1]  # an existing TTL survives
        self._items[key] = (stored, expires)
        return number

    async def _set_many(self, items: dict[str, bytes], ttl: float | None) -> None:
        for key, value in items.items():
            self._put(key, value, ttl)

    async def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        found = {key: self._live(key) for key in keys}
        return {key: value for key, value in found.items() if value is not None}

    async def _delete_many(self, keys: list[str]) -> int:
        return sum([await self._delete(key) for key in keys])

    async def _clear(self, prefix: str) -> None:
        for key in [k for k in self._items if k.startswith(prefix)]:
            del self._items[key]

    async def _unlock(self, key: str, token: bytes) -> bool:
        if self._live(key) != token:
            return False
        del self._items[key]
        return True

    async def _stats(self, prefix: str) -> BackendStats:
        keys = [k for k in list(self._items) if k.startswith(prefix) and self._live(k) is not None]
        size = sum(len(k) + len(self._items[k][0]) for k in keys)
        return BackendStats(item_count=len(keys), memory_used_bytes=size)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None  # the store outlives this object: other caches may share it
