"""The in-process cache: an LRU dict with per-key expiry and a bound on the number of items.

Every operation runs without awaiting in between, so on one event loop each is atomic
without a lock. Expired items are dropped when touched, and pruned when the bound is reached.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from pywatt.data.cache._numbers import incremented
from pywatt.data.cache.base import BackendStats, Cache

__all__ = ["MemoryCache"]

_Entry = tuple[bytes, "float | None"]


class MemoryCache(Cache):
    backend = "memory"

    def __init__(self, *, max_items: int = 10_000, namespace: str | None = None) -> None:
        super().__init__(namespace)
        self.max_items = max_items
        self._items: OrderedDict[str, _Entry] = OrderedDict()
        self._evictions = 0
        self._expirations = 0

    def _live(self, key: str) -> bytes | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= time.monotonic():
            del self._items[key]
            self._expirations += 1
            return None
        self._items.move_to_end(key)
        return value

    def _put(self, key: str, value: bytes, ttl: float | None) -> None:
        self._items[key] = (value, None if ttl is None else time.monotonic() + ttl)
        self._items.move_to_end(key)
        if len(self._items) > self.max_items:
            self._prune()
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
                self._evictions += 1

    def _prune(self) -> None:
        now = time.monotonic()
        dead = [k for k, (_, exp) in self._items.items() if exp is not None and exp <= now]
        for key in dead:
            del self._items[key]
        self._expirations += len(dead)

    async def _get(self, key: str) -> bytes | None:
        return self._live(key)

    async def _set(self, key: str, value: bytes, ttl: float | None) -> None:
        self._put(key, value, ttl)

    async def _delete(self, key: str) -> bool:
        found = self._live(key) is not None
        if found:
            del self._items[key]
        return found

    async def _exists(self, key: str) -> bool:
        return self._live(key) is not None

    async def _set_nx(self, key: str, value: bytes, ttl: float | None) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value, ttl)
        return True

    async def _get_set(self, key: str, value: bytes) -> bytes | None:
        old = self._live(key)
        self._put(key, value, None)
        return old

    async def _increment(self, key: str, delta: int) -> int:
        old = self._live(key)
        number, stored = incremented(old, delta)
        if old is None:
            self._put(key, stored, None)
        else:  # like Redis INCRBY, an existing TTL survives the increment
            self._items[key] = (stored, self._items[key][1])
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
        if not prefix:
            self._items.clear()
            return
        for key in [k for k in self._items if k.startswith(prefix)]:
            del self._items[key]

    async def _unlock(self, key: str, token: bytes) -> bool:
        if self._live(key) != token:
            return False
        del self._items[key]
        return True

    async def _stats(self, prefix: str) -> BackendStats:
        self._prune()
        keys = [k for k in self._items if k.startswith(prefix)]
        return BackendStats(
            item_count=len(keys),
            memory_used_bytes=sum(len(k) + len(self._items[k][0]) for k in keys),
            additional_metrics={
                "evictions": str(self._evictions),
                "expirations": str(self._expirations),
                "max_items": str(self.max_items),
            },
        )

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._items.clear()
