"""The cache contract every backend fulfils, its configuration base and its statistics.

Values are bytes and TTLs are seconds, so the same contract fits a cache reached through the
orchestrator (whole seconds, base64 on the wire). The public methods validate, namespace and
count; backends implement the ``_``-prefixed methods on full, already namespaced keys.
"""

from __future__ import annotations

import math
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import ClassVar, TypeVar
from urllib.parse import parse_qsl, urlsplit

from pywatt.core.errors import CacheKeyError, CacheTypeError, CacheValueError

__all__ = ["LOCK_PREFIX", "BackendStats", "Cache", "CacheConfig", "CacheSettings", "CacheStats"]

#: Locks live beside the data under this logical prefix, so ``lock("job")`` never clobbers ``job``.
LOCK_PREFIX = "__lock__:"

_C = TypeVar("_C", bound="Cache")


@dataclass(frozen=True)
class CacheStats:
    """Counters of this cache object plus what the backend can tell; ``None`` means unknown."""

    hits: int | None = None
    misses: int | None = None
    sets: int | None = None
    deletes: int | None = None
    item_count: int | None = None
    memory_used_bytes: int | None = None
    additional_metrics: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BackendStats:
    """What a backend reports about its store; the counters come from :class:`Cache`."""

    item_count: int | None = None
    memory_used_bytes: int | None = None
    additional_metrics: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CacheConfig(ABC):
    """A backend's typed configuration; the registered component for its URL scheme."""

    scheme: ClassVar[str]
    namespace: str | None = None

    @classmethod
    @abstractmethod
    def from_url(cls, url: str) -> CacheConfig:
        """Parse ``<scheme>://...`` into this configuration."""

    @abstractmethod
    def open(self) -> Cache:
        """Build the cache; drivers are imported here, not when the config is made."""


@dataclass(frozen=True)
class CacheSettings:
    """What ``open_cache`` hands a registered cache class or factory.

    :param url: the URL as given, e.g. ``"acme://host:7000/?pool=4"``.
    :param namespace: ``open_cache(namespace=...)``, else the URL's ``?namespace=``, else None.
    """

    url: str
    namespace: str | None = None

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def options(self) -> dict[str, str]:
        """The URL's query options, ``namespace`` left out (it is :attr:`namespace`)."""
        query = parse_qsl(urlsplit(self.url).query, keep_blank_values=True)
        return {k: v for k, v in query if k != "namespace"}

    @classmethod
    def from_url(cls, url: str, namespace: str | None = None) -> CacheSettings:
        if namespace is None:
            query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
            namespace = query.get("namespace")
        return cls(url=url, namespace=namespace)


def check_namespace(namespace: object) -> str:
    if not isinstance(namespace, str) or not namespace:
        raise CacheKeyError(f"a cache namespace must be a non-empty str, got {namespace!r}")
    return namespace


def check_value(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        raise CacheTypeError("cache values are bytes: encode the str, or use EncodedCache")
    raise CacheTypeError(f"cache values are bytes, got {type(value).__name__}")


def check_ttl(ttl: object, *, required: bool = False) -> float | None:
    if ttl is None and not required:
        return None
    if (
        isinstance(ttl, bool)
        or not isinstance(ttl, (int, float))
        or not math.isfinite(ttl)
        or ttl <= 0
    ):
        raise CacheValueError(f"a TTL must be a positive number of seconds, got {ttl!r}")
    return float(ttl)


class Cache(ABC):
    """An async key-value cache of bytes, used as ``async with``.

    A cache opened with ``namespace="ns"`` stores key ``k`` as ``ns:k`` on every backend.
    ``hits``/``misses``/``sets``/``deletes`` in :meth:`stats` count this object's calls.
    """

    backend: ClassVar[str]

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = None if namespace is None else check_namespace(namespace)
        self._prefix = "" if namespace is None else namespace + ":"
        self._hits = 0
        self._misses = 0
        self._sets = 0
        self._deletes = 0

    def full_key(self, key: str) -> str:
        """The key as the backend stores it (namespace prepended)."""
        if type(key) is not str or not key:
            raise CacheKeyError(f"a cache key must be a non-empty str, got {key!r}")
        return self._prefix + key

    async def __aenter__(self: _C) -> _C:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- single keys -----------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        value = await self._get(self.full_key(key))
        if value is None:
            self._misses += 1
        else:
            self._hits += 1
        return value

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self._set(self.full_key(key), check_value(value), check_ttl(ttl))
        self._sets += 1

    async def delete(self, key: str) -> bool:
        deleted = await self._delete(self.full_key(key))
        self._deletes += deleted
        return deleted

    async def exists(self, key: str) -> bool:
        return await self._exists(self.full_key(key))

    async def set_nx(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Store only when the key is absent; ``True`` when this call stored it."""
        stored = await self._set_nx(self.full_key(key), check_value(value), check_ttl(ttl))
        self._sets += stored
        return stored

    async def get_set(self, key: str, value: bytes) -> bytes | None:
        """Store ``value`` without expiry and return what was there before."""
        old = await self._get_set(self.full_key(key), check_value(value))
        self._sets += 1
        return old

    async def increment(self, key: str, delta: int = 1) -> int:
        """Add ``delta`` to a decimal integer value (a missing key counts as 0).

        Values are signed 64-bit like Redis; a non-integer value raises CacheValueError.
        """
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise CacheValueError(f"increment delta must be an int, got {delta!r}")
        return await self._increment(self.full_key(key), delta)

    # --- many keys -------------------------------------------------------------------------

    async def set_many(self, mapping: Mapping[str, bytes], ttl: float | None = None) -> None:
        items = {self.full_key(k): check_value(v) for k, v in mapping.items()}
        if items:
            await self._set_many(items, check_ttl(ttl))
        self._sets += len(items)

    async def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The found keys only; misses are absent from the result."""
        wanted = {self.full_key(k): k for k in keys}
        found = await self._get_many(list(wanted)) if wanted else {}
        self._hits += len(found)
        self._misses += len(wanted) - len(found)
        return {wanted[full]: value for full, value in found.items()}

    async def delete_many(self, keys: Iterable[str]) -> int:
        full = list(dict.fromkeys(self.full_key(k) for k in keys))
        deleted = await self._delete_many(full) if full else 0
        self._deletes += deleted
        return deleted

    async def clear(self, namespace: str | None = None) -> None:
        """Drop this cache's namespace, or the sub-namespace ``namespace`` inside it.

        A cache without a namespace clears everything it can reach.
        """
        prefix = self._prefix if namespace is None else self.full_key(namespace) + ":"
        await self._clear(prefix)

    async def flush(self) -> None:
        """Drop everything this cache can reach in its namespace."""
        await self._clear(self._prefix)

    # --- locks -----------------------------------------------------------------------------

    async def lock(self, key: str, ttl: float) -> str | None:
        """Take a lock that expires after ``ttl`` seconds; the token, or ``None`` when held."""
        token = secrets.token_hex(16)
        full = self._lock_key(key)
        taken = await self._set_nx(full, token.encode(), check_ttl(ttl, required=True))
        return token if taken else None

    async def unlock(self, key: str, token: str) -> bool:
        """Release a lock; only the token :meth:`lock` returned releases it."""
        if not isinstance(token, str) or not token:
            raise CacheValueError(f"a lock token must be a non-empty str, got {token!r}")
        return await self._unlock(self._lock_key(key), token.encode())

    def _lock_key(self, key: str) -> str:
        self.full_key(key)
        return self._prefix + LOCK_PREFIX + key

    # --- the rest --------------------------------------------------------------------------

    async def stats(self) -> CacheStats:
        backend = await self._stats(self._prefix)
        return CacheStats(
            hits=self._hits,
            misses=self._misses,
            sets=self._sets,
            deletes=self._deletes,
            item_count=backend.item_count,
            memory_used_bytes=backend.memory_used_bytes,
            additional_metrics={"backend": self.backend, **backend.additional_metrics},
        )

    @abstractmethod
    async def ping(self) -> bool:
        """``True`` when the store answers; failures report ``False`` instead of raising."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; safe to call twice."""

    @abstractmethod
    async def _get(self, key: str) -> bytes | None: ...

    @abstractmethod
    async def _set(self, key: str, value: bytes, ttl: float | None) -> None: ...

    @abstractmethod
    async def _delete(self, key: str) -> bool: ...

    @abstractmethod
    async def _exists(self, key: str) -> bool: ...

    @abstractmethod
    async def _set_nx(self, key: str, value: bytes, ttl: float | None) -> bool: ...

    @abstractmethod
    async def _get_set(self, key: str, value: bytes) -> bytes | None: ...

    @abstractmethod
    async def _increment(self, key: str, delta: int) -> int: ...

    @abstractmethod
    async def _set_many(self, items: dict[str, bytes], ttl: float | None) -> None: ...

    @abstractmethod
    async def _get_many(self, keys: list[str]) -> dict[str, bytes]: ...

    @abstractmethod
    async def _delete_many(self, keys: list[str]) -> int: ...

    @abstractmethod
    async def _clear(self, prefix: str) -> None:
        """Drop every key starting with ``prefix`` (``""`` means every key)."""

    @abstractmethod
    async def _unlock(self, key: str, token: bytes) -> bool:
        """Delete ``key`` only if it holds ``token``, atomically."""

    @abstractmethod
    async def _stats(self, prefix: str) -> BackendStats: ...
