"""The default cache behind ``service_operation`` Cache calls: a dict with TTLs."""

from __future__ import annotations

import re
import secrets
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["MemoryCache", "MemoryCacheStats"]


@dataclass(frozen=True)
class MemoryCacheStats:
    hits: int
    misses: int
    sets: int
    deletes: int
    item_count: int
    memory_used_bytes: int
    additional_metrics: dict[str, str] = field(default_factory=dict)


class MemoryCache:
    """The same async method names as ``pywatt.data.Cache``, so one dispatcher serves both."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[bytes, float | None]] = {}
        self._hits = self._misses = self._sets = self._deletes = 0

    def _live(self, key: str) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._items[key]
            return None
        return value

    def _put(self, key: str, value: bytes, ttl: float | None) -> None:
        self._items[key] = (value, None if ttl is None else time.monotonic() + ttl)
        self._sets += 1

    async def get(self, key: str) -> bytes | None:
        value = self._live(key)
        if value is None:
            self._misses += 1
        else:
            self._hits += 1
        return value

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._put(key, value, ttl)

    async def delete(self, key: str) -> bool:
        existed = self._live(key) is not None
        self._items.pop(key, None)
        self._deletes += existed
        return existed

    async def exists(self, key: str) -> bool:
        return self._live(key) is not None

    async def set_nx(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, value, ttl)
        return True

    async def get_set(self, key: str, value: bytes) -> bytes | None:
        old = self._live(key)
        self._put(key, value, None)
        return old

    async def increment(self, key: str, delta: int = 1) -> int:
        old = self._live(key)
        # Redis's rule, which Rust's i64 also imposes: plain decimal digits, signed 64-bit.
        if old is not None and not re.fullmatch(rb"-?[0-9]{1,19}", old):
            raise ValueError(f"the value at {key!r} is not an integer")
        current = 0 if old is None else int(old)
        result = current + delta
        if not -(2**63) <= current < 2**63 or not -(2**63) <= result < 2**63:
            raise ValueError(f"increment of {key!r} would overflow a signed 64-bit integer")
        expires = self._items[key][1] if old is not None else None
        self._items[key] = (str(result).encode(), expires)
        return result

    async def set_many(self, mapping: Mapping[str, bytes], ttl: float | None = None) -> None:
        for key, value in mapping.items():
            self._put(key, value, ttl)

    async def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        found = {key: value for key in keys if (value := self._live(key)) is not None}
        return found

    async def delete_many(self, keys: Iterable[str]) -> int:
        return sum([await self.delete(key) for key in keys])

    async def clear(self, namespace: str | None = None) -> None:
        if namespace is None:
            self._items.clear()
            return
        prefix = f"{namespace}:"
        for key in [k for k in self._items if k.startswith(prefix)]:
            del self._items[key]

    async def flush(self) -> None:
        self._items.clear()

    async def lock(self, key: str, ttl: float) -> str | None:
        token = secrets.token_hex(16)
        acquired = await self.set_nx(f"lock:{key}", token.encode(), ttl)
        return token if acquired else None

    async def unlock(self, key: str, token: str) -> bool:
        if self._live(f"lock:{key}") != token.encode():
            return False
        del self._items[f"lock:{key}"]
        return True

    async def stats(self) -> MemoryCacheStats:
        live = [k for k in list(self._items) if self._live(k) is not None]
        size = sum(len(k) + len(self._items[k][0]) for k in live)
        return MemoryCacheStats(
            hits=self._hits,
            misses=self._misses,
            sets=self._sets,
            deletes=self._deletes,
            item_count=len(live),
            memory_used_bytes=size,
            additional_metrics={"backend": "memory", "python": sys.version.split()[0]},
        )

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None
