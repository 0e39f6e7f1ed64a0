"""The Redis backend on ``redis.asyncio``.

Locks are ``SET NX PX`` with a random token, released by a Lua compare-and-delete. Namespaces
are cleared with ``SCAN`` + ``UNLINK`` on the key prefix.

A command whose connection is lost is sent again (up to ``retries`` times, on a new
connection) only if running it twice cannot change what is stored: GET, SET, EXISTS, MGET,
MSET, UNLINK, the unlock script, SCAN. INCRBY, SET NX (``set_nx`` and ``lock``) and SET GET
(``get_set``) may have been applied before the connection died, so they raise
:class:`~pywatt.data.errors.CacheOutcomeUnknownError` instead; unless the connection could not
even be opened, in which case nothing was sent and they are retried too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
    RedisError,
    ResponseError,
    TimeoutError as RedisTimeoutError,
)

from pywatt.core.errors import CacheBackendError, CacheValueError
from pywatt.data.cache.base import BackendStats, Cache
from pywatt.data.errors import CacheOutcomeUnknownError

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
_LOST = (RedisConnectionError, RedisTimeoutError)
T = TypeVar("T")


def _never_sent(exc: BaseException) -> bool:
    """redis-py's own wording when the connection could not be opened: nothing was sent."""
    return "connecting to" in str(exc)


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _ms(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, round(ttl * 1000))


class RedisCache(Cache):
    backend = "redis"

    def __init__(self, config: RedisCacheConfig) -> None:
        super().__init__(config.namespace)
        self.config = config
        # The driver itself never resends a command: whether one may be sent again depends
        # on the command, which only ``_command`` knows.
        pool = aioredis.BlockingConnectionPool.from_url(
            config.url,
            max_connections=config.max_connections,
            timeout=config.pool_timeout,
            socket_timeout=config.socket_timeout,
            socket_connect_timeout=config.connect_timeout,
            retry=Retry(NoBackoff(), 0),
            client_name=config.client_name,
            decode_responses=False,
        )
        #: The underlying ``redis.asyncio.Redis``, for commands this API does not cover.
        # A blocking pool makes a burst of tasks wait for a free connection instead of failing.
        self.client: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        self._unlock_script = self.client.register_script(_UNLOCK)
        self._backoff = ExponentialWithJitterBackoff(base=0.01, cap=0.5)

    async def _command(
        self, what: str, call: Callable[[], Awaitable[T]], *, idempotent: bool = True
    ) -> T:
        """Run ``call``; after a lost connection run it again only if that is harmless."""
        failures = 0
        while True:
            try:
                return await call()
            except ResponseError as exc:
                text = str(exc)
                if text.startswith("WRONGTYPE") or "not an integer" in text or "overflow" in text:
                    raise CacheValueError(f"redis {what}: {exc}") from exc
                raise CacheBackendError(f"redis {what} failed: {exc}") from exc
            except _LOST as exc:
                if not idempotent and not _never_sent(exc):
                    raise CacheOutcomeUnknownError(
                        f"redis {what}: the connection was lost after the command was sent; "
                        f"it may or may not have been applied (outcome unknown), so it was "
                        f"not retried: {exc}"
                    ) from exc
                failures += 1
                if failures > self.config.retries:
                    raise CacheBackendError(f"redis {what} failed: {exc}") from exc
                await anyio.sleep(self._backoff.compute(failures))
            except RedisError as exc:
                raise CacheBackendError(f"redis {what} failed: {exc}") from exc

    async def _call(self, what: str, *args: Any, idempotent: bool = True) -> Any:
        return await self._command(
            what,
            lambda: self.client.execute_command(*args),  # type: ignore[no-untyped-call]
            idempotent=idempotent,
        )

    async def _get(self, key: str) -> bytes | None:
        return await self._call("GET", "GET", key)  # type: ignore[no-any-return]

    async def _set(self, key: str, value: bytes, ttl: float | None) -> None:
        ms = _ms(ttl)
        args = ("SET", key, value) if ms is None else ("SET", key, value, "PX", ms)
        await self._call("SET", *args)

    async def _delete(self, key: str) -> bool:
        return bool(await self._call("UNLINK", "UNLINK", key))

    async def _exists(self, key: str) -> bool:
        return bool(await self._call("EXISTS", "EXISTS", key))

    async def _set_nx(self, key: str, value: bytes, ttl: float | None) -> bool:
        ms = _ms(ttl)
        args = ("SET", key, value, "NX") if ms is None else ("SET", key, value, "PX", ms, "NX")
        return bool(await self._call("SET NX", *args, idempotent=False))

    async def _get_set(self, key: str, value: bytes) -> bytes | None:
        old = await self._command(
            "SET GET", lambda: self.client.set(key, value, get=True), idempotent=False
        )
        return old  # type: ignore[return-value]  # the old bytes: decode_responses is off

    async def _increment(self, key: str, delta: int) -> int:
        return int(await self._call("INCRBY", "INCRBY", key, delta, idempotent=False))

    async def _set_many(self, items: dict[str, bytes], ttl: float | None) -> None:
        ms = _ms(ttl)
        if ms is None:
            await self._command("set_many", lambda: self.client.mset(items))
            return

        async def pipelined() -> None:
            async with self.client.pipeline(transaction=False) as pipe:
                for key, value in items.items():
                    pipe.set(key, value, px=ms)
                await pipe.execute()

        await self._command("set_many", pipelined)

    async def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        values = await self._call("MGET", "MGET", *keys)
        return {k: v for k, v in zip(keys, values, strict=True) if v is not None}

    async def _delete_many(self, keys: list[str]) -> int:
        return int(await self._call("UNLINK", "UNLINK", *keys))

    async def _clear(self, prefix: str) -> None:
        async def clear() -> None:
            batch: list[bytes] = []
            async for key in self.client.scan_iter(_glob_escape(prefix) + "*", _SCAN_BATCH):
                batch.append(key)
                if len(batch) >= _SCAN_BATCH:
                    await self.client.unlink(*batch)
                    batch.clear()
            if batch:
                await self.client.unlink(*batch)

        await self._command("clear", clear)

    async def _unlock(self, key: str, token: bytes) -> bool:
        # Compare-and-delete with our own token: a second run finds nothing of ours to delete.
        return bool(
            await self._command("unlock", lambda: self._unlock_script(keys=[key], args=[token]))
        )

    async def _stats(self, prefix: str) -> BackendStats:
        async def read() -> tuple[int, dict[str, Any]]:
            if prefix:
                count = 0
                async for _ in self.client.scan_iter(_glob_escape(prefix) + "*", _SCAN_BATCH):
                    count += 1
            else:
                count = int(await self.client.dbsize())
            return count, await self.client.info()

        count, info = await self._command("stats", read)
        wanted = ("redis_version", "used_memory", "keyspace_hits", "keyspace_misses")
        return BackendStats(
            item_count=count,
            # Redis reports memory for the whole server (server_used_memory), not per key set.
            memory_used_bytes=None,
            additional_metrics={f"server_{k}": str(info[k]) for k in wanted if k in info},
        )

    async def ping(self) -> bool:
        try:
            return bool(await self._command("PING", self.client.ping))
        except CacheBackendError:
            return False

    async def close(self) -> None:
        await self.client.aclose(close_connection_pool=True)
