"""The memcached backend: a pooled pymemcache client, driven from worker threads.

Memcached cannot list keys, so namespaces are cleared by generations: every ``:``-separated
prefix of a key (and the root) has a random generation stored in memcached, and the stored
key carries the generations of all its prefixes. Clearing a namespace replaces its
generation, which orphans every key under it; memcached evicts the orphans in time.

Differences from Redis worth knowing: TTLs are rounded up to whole seconds, and ``increment``
(a compare-and-swap loop, so values stay signed 64-bit) leaves the key without expiry.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
from pymemcache.client.base import PooledClient
from pymemcache.exceptions import MemcacheError, MemcacheUnexpectedCloseError

from pywatt.core.errors import CacheBackendError
from pywatt.data.cache._keys import memcached_key
from pywatt.data.cache._numbers import incremented
from pywatt.data.cache._threaded import ThreadedStoreCache
from pywatt.data.cache.base import BackendStats
from pywatt.data.errors import CacheOutcomeUnknownError

if TYPE_CHECKING:
    from pywatt.data.cache.config import MemcachedCacheConfig

__all__ = ["MemcachedCache"]

_T = TypeVar("_T")
_THIRTY_DAYS = 30 * 24 * 3600
_GEN_PREFIX = "__pywatt_gen__"
#: Store operations that may have been applied when their connection is lost (``lock`` is
#: ``set_nx``): they raise CacheOutcomeUnknownError rather than a plain backend error.
_NOT_IDEMPOTENT = frozenset({"set_nx", "get_set", "increment"})


def _expire(ttl: float | None) -> int:
    if ttl is None:
        return 0
    seconds = math.ceil(ttl)
    # Memcached reads more than 30 days as an absolute Unix time.
    return seconds if seconds <= _THIRTY_DAYS else int(time.time()) + seconds


def _namespaces(full_key: str) -> list[str]:
    """The root and every namespace that contains ``full_key``: "a:b:k" -> "", "a", "a:b"."""
    parts = full_key.split(":")[:-1]
    return ["", *(":".join(parts[: i + 1]) for i in range(len(parts)))]


def _gen_key(namespace: str) -> bytes:
    # Hashed always, so no user key can ever be mistaken for a generation.
    return memcached_key(f"{_GEN_PREFIX} {namespace}")


class _Store:
    """The blocking half; each public method runs whole in one worker thread."""

    def __init__(self, client: PooledClient) -> None:
        self.client = client

    def generations(self, namespaces: set[str]) -> dict[str, str]:
        keys = {ns: _gen_key(ns) for ns in namespaces}
        found: dict[bytes, bytes] = self.client.get_many(list(keys.values()))
        out: dict[str, str] = {}
        for ns, key in keys.items():
            value = found.get(key)
            if value is None:
                self.client.add(key, secrets.token_hex(8).encode(), expire=0, noreply=False)
                value = self.client.get(key)  # ours, or the one a concurrent add stored
                if value is None:
                    raise CacheBackendError(f"memcached dropped namespace generation {ns!r}")
            out[ns] = value.decode()
        return out

    def keys(self, full_keys: list[str]) -> dict[str, bytes]:
        """Each full key mapped to the memcached key of its current generation."""
        per_key = {k: _namespaces(k) for k in full_keys}
        gens = self.generations({ns for spaces in per_key.values() for ns in spaces})
        return {
            k: memcached_key(k + "#" + ".".join(gens[ns] for ns in spaces))
            for k, spaces in per_key.items()
        }

    def key(self, full_key: str) -> bytes:
        return self.keys([full_key])[full_key]

    def get(self, key: str) -> bytes | None:
        value: bytes | None = self.client.get(self.key(key))
        return value

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        if not self.client.set(self.key(key), value, expire=_expire(ttl), noreply=False):
            raise CacheBackendError(f"memcached refused to store {key!r}")

    def delete(self, key: str) -> bool:
        return bool(self.client.delete(self.key(key), noreply=False))

    def set_nx(self, key: str, value: bytes, ttl: float | None) -> bool:
        return bool(self.client.add(self.key(key), value, expire=_expire(ttl), noreply=False))

    def swap(self, key: str, change: Callable[[bytes | None], bytes]) -> bytes | None:
        """Store ``change(old)`` with compare-and-swap until no one else wrote in between."""
        mkey = self.key(key)
        while True:
            old, cas = self.client.gets(mkey)
            new = change(old)
            if old is None:
                if self.client.add(mkey, new, expire=0, noreply=False):
                    return None
            elif self.client.cas(mkey, new, cas, expire=0, noreply=False):
                return old  # type: ignore[no-any-return]

    def get_set(self, key: str, value: bytes) -> bytes | None:
        return self.swap(key, lambda _: value)

    def increment(self, key: str, delta: int) -> int:
        result: list[int] = []

        def change(old: bytes | None) -> bytes:
            number, stored = incremented(old, delta)
            result[:] = [number]
            return stored

        self.swap(key, change)
        return result[0]

    def set_many(self, items: dict[str, bytes], ttl: float | None) -> None:
        keys = self.keys(list(items))
        stored = {keys[k]: v for k, v in items.items()}
        failed = self.client.set_many(stored, expire=_expire(ttl), noreply=False)
        if failed:
            raise CacheBackendError(f"memcached refused to store {len(failed)} keys")

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        mkeys = self.keys(keys)
        found: dict[bytes, bytes] = self.client.get_many(list(mkeys.values()))
        return {k: found[m] for k, m in mkeys.items() if m in found}

    def delete_many(self, keys: list[str]) -> int:
        return sum(bool(self.client.delete(m, noreply=False)) for m in self.keys(keys).values())

    def clear(self, prefix: str) -> None:
        namespace = prefix[:-1] if prefix.endswith(":") else prefix
        self.client.set(_gen_key(namespace), secrets.token_hex(8).encode(), 0, noreply=False)

    def unlock(self, key: str, token: bytes) -> bool:
        mkey = self.key(key)
        value, cas = self.client.gets(mkey)
        if value != token:
            return False
        # Memcached has no compare-and-delete: first make it ours alone with a CAS, then delete.
        if not self.client.cas(mkey, b"", cas, expire=1, noreply=False):
            return False
        self.client.delete(mkey, noreply=False)
        return True

    def stats(self) -> BackendStats:
        raw: dict[bytes, Any] = self.client.stats()
        wanted = ("version", "curr_items", "bytes", "evictions", "get_hits", "get_misses")
        metrics = {}
        for name in wanted:
            value = raw.get(name.encode())
            if value is not None:
                text = value.decode() if isinstance(value, bytes) else str(value)
                metrics[f"server_{name}"] = text
        # Memcached cannot count one namespace's keys, and reports memory server-wide.
        return BackendStats(additional_metrics=metrics)


class MemcachedCache(ThreadedStoreCache):
    backend = "memcached"

    def __init__(self, config: MemcachedCacheConfig) -> None:
        super().__init__(config.namespace)
        self.config = config
        #: The underlying ``pymemcache`` pooled client (blocking: call it from a thread).
        self.client = PooledClient(
            (config.host, config.port),
            connect_timeout=config.connect_timeout,
            timeout=config.timeout,
            max_pool_size=config.max_connections,
            default_noreply=False,
            no_delay=True,
        )
        # The pool refuses to grow past its size, so threads queue here instead.
        self._limiter = anyio.CapacityLimiter(config.max_connections)
        self._store = _Store(self.client)

    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        """Run a store operation; nothing is ever retried (pymemcache does not either)."""
        try:
            return await anyio.to_thread.run_sync(func, *args, limiter=self._limiter)
        except (MemcacheError, OSError) as exc:
            where = f"{self.config.host}:{self.config.port}"
            lost = isinstance(exc, (MemcacheUnexpectedCloseError, OSError))
            sent = not isinstance(exc, ConnectionRefusedError)
            if lost and sent and getattr(func, "__name__", "") in _NOT_IDEMPOTENT:
                raise CacheOutcomeUnknownError(
                    f"memcached {where}: the connection was lost during {func.__name__}; it "
                    f"may or may not have been applied (outcome unknown): {exc}"
                ) from exc
            raise CacheBackendError(f"memcached {where}: {type(exc).__name__}: {exc}") from exc

    async def _stats(self, prefix: str) -> BackendStats:
        # Memcached reports server-wide figures only, so the prefix cannot narrow them.
        return await self._run(self._store.stats)

    async def ping(self) -> bool:
        try:
            await self._run(self.client.version)
        except CacheBackendError:
            return False
        return True

    async def close(self) -> None:
        await self._run(self.client.close)
