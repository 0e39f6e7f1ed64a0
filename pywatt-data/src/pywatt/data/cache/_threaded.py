"""A cache whose store is blocking code, run on worker threads (file, memcached)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from pywatt.data.cache.base import BackendStats, Cache

__all__ = ["BlockingStore", "ThreadedStoreCache"]

_T = TypeVar("_T")


class BlockingStore(Protocol):
    """The synchronous operations a threaded backend implements on full keys."""

    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes, ttl: float | None) -> None: ...
    def delete(self, key: str) -> bool: ...
    def set_nx(self, key: str, value: bytes, ttl: float | None) -> bool: ...
    def get_set(self, key: str, value: bytes) -> bytes | None: ...
    def increment(self, key: str, delta: int) -> int: ...
    def set_many(self, items: dict[str, bytes], ttl: float | None) -> None: ...
    def get_many(self, keys: list[str]) -> dict[str, bytes]: ...
    def delete_many(self, keys: list[str]) -> int: ...
    def clear(self, prefix: str) -> None: ...
    def unlock(self, key: str, token: bytes) -> bool: ...
    def stats(self, prefix: str) -> BackendStats: ...


class ThreadedStoreCache(Cache):
    """Every operation is the store's method of the same name, off the event loop."""

    _store: Any

    @abstractmethod
    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        """Run ``func`` on a worker thread, turning the store's errors into cache errors."""

    async def _get(self, key: str) -> bytes | None:
        return await self._run(self._store.get, key)

    async def _set(self, key: str, value: bytes, ttl: float | None) -> None:
        await self._run(self._store.set, key, value, ttl)

    async def _delete(self, key: str) -> bool:
        return await self._run(self._store.delete, key)

    async def _exists(self, key: str) -> bool:
        return await self._run(self._store.get, key) is not None

    async def _set_nx(self, key: str, value: bytes, ttl: float | None) -> bool:
        return await self._run(self._store.set_nx, key, value, ttl)

    async def _get_set(self, key: str, value: bytes) -> bytes | None:
        return await self._run(self._store.get_set, key, value)

    async def _increment(self, key: str, delta: int) -> int:
        return await self._run(self._store.increment, key, delta)

    async def _set_many(self, items: dict[str, bytes], ttl: float | None) -> None:
        await self._run(self._store.set_many, items, ttl)

    async def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        return await self._run(self._store.get_many, keys)

    async def _delete_many(self, keys: list[str]) -> int:
        return await self._run(self._store.delete_many, keys)

    async def _clear(self, prefix: str) -> None:
        await self._run(self._store.clear, prefix)

    async def _unlock(self, key: str, token: bytes) -> bool:
        return await self._run(self._store.unlock, key, token)

    async def _stats(self, prefix: str) -> BackendStats:
        return await self._run(self._store.stats, prefix)
