"""The Redis backend on ``redis.asyncio``.

Locks are ``SET NX PX`` with a random token, released by a Lua compare-and-delete. Namespaces
are cleared with ``SCAN`` + ``UNLINK`` on the key prefix. The client retries a command once it
reconnects, so a connection the server dropped is recovered on the next call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from pywatt.core.errors import CacheBackendError, CacheValueError
from pywatt.data.cache.base import BackendStats, Cache

if TYPE_CHECKING:
    from pywatt.data.cache.config import RedisCacheConfig

__all__ = ["RedisCache"]

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""
_SCAN_BATCH = 500


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _ms(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, round(ttl * 1000))


class RedisCache(Cache):
    backend = "redis"

    def __init__(self, config: RedisCacheConfig) -> None:
        super().__init__(config.namespace)
        self.config = config
        retry = Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.5), config.retries)
        #: The underlying ``redis.asyncio.Redis``, for commands this API does not cover.
        # A blocking pool makes a burst of tasks wait for a free connection instead of failing.
        pool = aioredis.BlockingConnectionPool.from_url(
            config.url,
            max_connections=config.max_connections,
            timeout=config.pool_timeout,
            socket_timeout=config.socket_timeout,
            socket_connect_timeout=config.connect_timeout,
            retry=retry,
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            client_name=config.client_name,
            decode_responses=False,
        )
        #: The underlying ``redis.asyncio.Redis``, for commands this API does not cover.
        self.client: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        self._unlock_script = self.client.register_script(_UNLOCK)

    async def _get(self, key: str) -> bytes | None:
        try:
            value = await self.client.get(key)
        except RedisError as exc:
            raise CacheBackendError(f"redis GET failed: {exc}") from exc
        return value  # type: ignore[return-value]  # bytes: decode_responses is off

    async def _set(self, key: str, value: bytes, ttl: float | None) -> None:
        try:
            await self.client.set(key, value, px=_ms(ttl))
        except RedisError as exc:
            raise CacheBackendError(f"redis SET failed: {exc}") from exc

    async def _call(self, what: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self.client.execute_command(*args, **kwargs)  # type: ignore[no-untyped-call]
        except ResponseError as exc:
            text = str(exc)
            if text.startswith("WRONGTYPE") or "not an integer" in text or "overflow" in text:
                raise CacheValueError(f"redis {what}: {exc}") from exc
            raise CacheBackendError(f"redis {what} failed: {exc}") from exc
        except RedisError as exc:
            raise CacheBackendError(f"redis {what} failed: {exc}") from exc

    async def _delete(self, key: str) -> bool:
        return bool(await self._call("UNLINK", "UNLINK", key))

    async def _exists(self, key: str) -> bool:
        return bool(await self._call("EXISTS", "EXISTS", key))

    async def _set_nx(self, key: str, value: bytes, ttl: float | None) -> bool:
        ms = _ms(ttl)
        args = ("SET", key, value, "NX") if ms is None else ("SET", key, value, "PX", ms, "NX")
        return bool(await self._call("SET NX", *args))

    async def _get_set(self, key: str, value: bytes) -> bytes | None:
        try:
            old = await self.client.set(key, value, get=True)
        except RedisError as exc:
            raise CacheBackendError(f"redis SET GET failed: {exc}") from exc
        return old  # type: ignore[return-value]  # the old bytes: decode_responses is off

    async def _increment(self, key: str, delta: int) -> int:
        return int(await self._call("INCRBY", "INCRBY", key, delta))

    async def _set_many(self, items: dict[str, bytes], ttl: float | None) -> None:
        ms = _ms(ttl)
        try:
            if ms is None:
                await self.client.mset(items)
                return
            async with self.client.pipeline(transaction=False) as pipe:
                for key, value in items.items():
                    pipe.set(key, value, px=ms)
                await pipe.execute()
        except RedisError as exc:
            raise CacheBackendError(f"redis set_many failed: {exc}") from exc

    async def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        values = await self._call("MGET", "MGET", *keys)
        return {k: v for k, v in zip(keys, values, strict=True) if v is not None}

    async def _delete_many(self, keys: list[str]) -> int:
        return int(await self._call("UNLINK", "UNLINK", *keys))

    async def _clear(self, prefix: str) -> None:
        try:
            batch: list[bytes] = []
            async for key in self.client.scan_iter(_glob_escape(prefix) + "*", _SCAN_BATCH):
                batch.append(key)
                if len(batch) >= _SCAN_BATCH:
                    await self.client.unlink(*batch)
                    batch.clear()
            if batch:
                await self.client.unlink(*batch)
        except RedisError as exc:
            raise CacheBackendError(f"redis clear failed: {exc}") from exc

    async def _unlock(self, key: str, token: bytes) -> bool:
        try:
            return bool(await self._unlock_script(keys=[key], args=[token]))
        except RedisError as exc:
            raise CacheBackendError(f"redis unlock failed: {exc}") from exc

    async def _stats(self, prefix: str) -> BackendStats:
        try:
            if prefix:
                count = 0
                async for _ in self.client.scan_iter(_glob_escape(prefix) + "*", _SCAN_BATCH):
                    count += 1
            else:
                count = int(await self.client.dbsize())
            info: dict[str, Any] = await self.client.info()
        except RedisError as exc:
            raise CacheBackendError(f"redis stats failed: {exc}") from exc
        wanted = ("redis_version", "used_memory", "keyspace_hits", "keyspace_misses")
        return BackendStats(
            item_count=count,
            # Redis reports memory for the whole server (server_used_memory), not per key set.
            memory_used_bytes=None,
            additional_metrics={f"server_{k}": str(info[k]) for k in wanted if k in info},
        )

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except RedisError:
            return False

    async def close(self) -> None:
        await self.client.aclose(close_connection_pool=True)
