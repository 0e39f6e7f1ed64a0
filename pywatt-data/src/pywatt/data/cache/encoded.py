"""Python values over a byte cache, through a pywatt encoder."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pywatt.core.encoders import Encoder
from pywatt.data.cache.base import Cache, CacheStats

if TYPE_CHECKING:
    from pywatt.core.plugins import Plugins

__all__ = ["EncodedCache"]


def default_encoder(plugins: Plugins | None = None) -> Encoder:
    """msgpack when a plugin provides it (smaller, keeps bytes), else json."""
    if plugins is None:
        from pywatt.core.plugins import get_plugins

        plugins = get_plugins()
    encoders = plugins.encoders
    encoder: Encoder = encoders.get("msgpack" if "msgpack" in encoders else "json")
    return encoder


class EncodedCache:
    """The :class:`Cache` operations on Python values; counters and locks pass straight through.

    ``increment`` works on the raw decimal form the backend keeps, so a counter is read with
    ``increment(key, 0)`` rather than ``get``.
    """

    def __init__(
        self, cache: Cache, encoder: Encoder | None = None, *, plugins: Plugins | None = None
    ) -> None:
        self.cache = cache
        self.encoder = default_encoder(plugins) if encoder is None else encoder

    async def __aenter__(self) -> EncodedCache:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.cache.close()

    def _decode(self, data: bytes | None) -> Any:
        return None if data is None else self.encoder.decode(data)

    async def get(self, key: str, default: Any = None) -> Any:
        data = await self.cache.get(key)
        return default if data is None else self.encoder.decode(data)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        await self.cache.set(key, self.encoder.encode(value), ttl)

    async def delete(self, key: str) -> bool:
        return await self.cache.delete(key)

    async def exists(self, key: str) -> bool:
        return await self.cache.exists(key)

    async def set_nx(self, key: str, value: Any, ttl: float | None = None) -> bool:
        return await self.cache.set_nx(key, self.encoder.encode(value), ttl)

    async def get_set(self, key: str, value: Any) -> Any:
        return self._decode(await self.cache.get_set(key, self.encoder.encode(value)))

    async def increment(self, key: str, delta: int = 1) -> int:
        return await self.cache.increment(key, delta)

    async def set_many(self, mapping: Mapping[str, Any], ttl: float | None = None) -> None:
        await self.cache.set_many({k: self.encoder.encode(v) for k, v in mapping.items()}, ttl)

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        found = await self.cache.get_many(keys)
        return {k: self.encoder.decode(v) for k, v in found.items()}

    async def delete_many(self, keys: Iterable[str]) -> int:
        return await self.cache.delete_many(keys)

    async def clear(self, namespace: str | None = None) -> None:
        await self.cache.clear(namespace)

    async def lock(self, key: str, ttl: float) -> str | None:
        return await self.cache.lock(key, ttl)

    async def unlock(self, key: str, token: str) -> bool:
        return await self.cache.unlock(key, token)

    async def ping(self) -> bool:
        return await self.cache.ping()

    async def stats(self) -> CacheStats:
        return await self.cache.stats()

    async def flush(self) -> None:
        await self.cache.flush()

    async def close(self) -> None:
        await self.cache.close()
