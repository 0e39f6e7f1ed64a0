"""A conformance kit for cache backends: subclass :class:`CacheConformance` in a test module.

::

    import pytest
    from pywatt.data.testing import CacheConformance, CacheTraits

    class TestAcmeCache(CacheConformance):
        @pytest.fixture
        def cache_traits(self) -> CacheTraits:
            return CacheTraits(backend="acme")

        @pytest.fixture
        def cache_url(self) -> str:
            return "acme://127.0.0.1:7000"

The kit opens its caches with ``open_cache(cache_url, namespace=..., plugins=cache_plugins)``
and flushes and closes each after the test. A backend that needs another way to build its
caches overrides ``open_test_cache`` instead (a ``namespace -> Cache`` callable).

The suite covers every operation of the cache contract (§7.3.2): get/set/delete/exists, the
``*_many`` forms, TTLs, ``set_nx``, ``get_set``, increments (integer text, int64 overflow,
atomicity under 50 tasks), namespaces and sub-namespaces, ``clear``/``flush``, locks and
their tokens, stats, ``ping``, and :class:`~pywatt.data.EncodedCache` on top. Each test gets a
fresh uuid namespace, so a run against a shared server never collides with another.
pywatt's own backends (memory, file, Redis, memcached, proxy) run through this same class.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from pywatt.core.encoders import JsonEncoder
from pywatt.core.errors import CacheKeyError, CacheTypeError, CacheValueError
from pywatt.core.plugins import Plugins, get_plugins
from pywatt.data import Cache, EncodedCache, open_cache

__all__ = ["CacheConformance", "CacheTraits"]


@dataclass(frozen=True)
class CacheTraits:
    """What a backend may legitimately do differently.

    :param backend: the name its ``stats().additional_metrics["backend"]`` reports.
    :param shared_store: a second cache object on the same URL sees the same keys (false for
        an in-process store each object owns).
    :param counts_items: ``stats().item_count`` counts the namespace (memcached cannot).
    """

    backend: str
    shared_store: bool = True
    counts_items: bool = True


class CacheConformance:
    """The behaviour every cache backend must have. Subclasses provide two fixtures:
    ``cache_traits`` (a :class:`CacheTraits`) and ``cache_url`` (what ``open_cache`` opens), or
    ``open_test_cache`` (``namespace -> Cache``) in place of ``cache_url``.
    """

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    def cache_plugins(self) -> Plugins:
        """The plugins caches are opened with (the process-wide ones unless overridden)."""
        return get_plugins()

    @pytest.fixture
    async def open_test_cache(
        self, cache_url: str, cache_plugins: Plugins
    ) -> AsyncIterator[Callable[[str | None], Cache]]:
        """``namespace -> Cache`` on ``cache_url``; each cache is flushed and closed after."""
        opened: list[Cache] = []

        def make(namespace: str | None) -> Cache:
            cache = open_cache(cache_url, namespace=namespace, plugins=cache_plugins)
            opened.append(cache)
            return cache

        yield make
        for cache in opened:
            if cache.namespace is not None:
                await cache.flush()
            await cache.close()

    @pytest.fixture
    def cache_namespace(self) -> str:
        return f"pwkit-{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def cache(self, open_test_cache: Callable[[str | None], Cache], cache_namespace: str) -> Cache:
        return open_test_cache(cache_namespace)

    async def test_set_get_delete_exists(self, cache: Cache) -> None:
        assert await cache.get("k") is None
        assert not await cache.exists("k")
        await cache.set("k", b"v1")
        assert await cache.get("k") == b"v1"
        assert await cache.exists("k")
        await cache.set("k", b"v2")
        assert await cache.get("k") == b"v2"
        assert await cache.delete("k") is True
        assert await cache.delete("k") is False
        assert await cache.get("k") is None

    async def test_every_byte_value_round_trips(self, cache: Cache) -> None:
        values = {
            "all": bytes(range(256)),
            "reversed": bytes(range(255, -1, -1)),
            "nul": b"\x00",
            "crlf": b"\r\nEND\r\n",
            "empty": b"",
            "big": bytes(range(256)) * 2048,
        }
        for key, value in values.items():
            await cache.set(key, value)
        for key, value in values.items():
            assert await cache.get(key) == value
        assert await cache.get_many(list(values)) == values
        assert await cache.exists("empty")
        await cache.set("view", memoryview(b"\xff\x00"))  # type: ignore[arg-type]
        assert await cache.get("view") == b"\xff\x00"

    async def test_bad_keys_values_and_ttls_are_typed_errors(self, cache: Cache) -> None:
        loose: Any = cache  # wrong types on purpose: the errors are the test
        with pytest.raises(CacheTypeError, match="encode the str") as info:
            await loose.set("k", "text")
        assert isinstance(info.value, TypeError)
        with pytest.raises(CacheTypeError, match="int"):
            await loose.set("k", 5)
        with pytest.raises(CacheTypeError):
            await loose.set_many({"a": b"1", "b": "2"})
        for key in ["", None, 7, b"k"]:
            with pytest.raises(CacheKeyError):
                await loose.get(key)
        for ttl in [0, -1, math.nan, math.inf, True, "5"]:
            with pytest.raises(CacheValueError, match="TTL"):
                await loose.set("k", b"v", ttl=ttl)
        with pytest.raises(CacheValueError):
            await loose.lock("k", None)
        with pytest.raises(CacheValueError):
            await loose.increment("k", 1.5)
        assert await loose.get_many(["a", "b", "k"]) == {}  # nothing was half-written

    async def test_ttls_expire(self, cache: Cache) -> None:
        # Memcached counts TTLs in whole seconds on a one-second clock, hence 2 s and 3.5 s.
        await cache.set("short", b"1", ttl=2)
        await cache.set("forever", b"1")
        assert await cache.set_nx("nx", b"1", ttl=2)
        await cache.set_many({"m1": b"1", "m2": b"2"}, ttl=2)
        assert await cache.lock("job", ttl=2) is not None
        await cache.set("long", b"1", ttl=60)
        assert await cache.get_many(["short", "nx", "m1", "m2"]) == {
            "short": b"1",
            "nx": b"1",
            "m1": b"1",
            "m2": b"2",
        }
        await anyio.sleep(3.5)
        assert await cache.get("short") is None
        assert not await cache.exists("nx")
        assert await cache.get_many(["m1", "m2", "forever", "long"]) == {
            "forever": b"1",
            "long": b"1",
        }
        assert await cache.lock("job", ttl=2) is not None  # the expired lock is free again
        assert await cache.set_nx("short", b"again")

    async def test_set_nx(self, cache: Cache) -> None:
        assert await cache.set_nx("k", b"first") is True
        assert await cache.set_nx("k", b"second") is False
        assert await cache.get("k") == b"first"

    async def test_get_set(self, cache: Cache) -> None:
        assert await cache.get_set("k", b"one") is None
        assert await cache.get_set("k", b"two") == b"one"
        assert await cache.get("k") == b"two"

    async def test_increment(self, cache: Cache) -> None:
        assert await cache.increment("n") == 1
        assert await cache.increment("n", 9) == 10
        assert await cache.increment("n", -15) == -5
        assert await cache.increment("n", 0) == -5
        assert await cache.get("n") == b"-5"
        await cache.set("set-as-bytes", b"41")
        assert await cache.increment("set-as-bytes") == 42
        assert await cache.get("set-as-bytes") == b"42"

    async def test_increment_rejects_non_integers_and_overflow(self, cache: Cache) -> None:
        for raw in [b"abc", b"1.5", b"", b" 7", bytes(range(256))]:
            await cache.set("bad", raw)
            with pytest.raises(CacheValueError):
                await cache.increment("bad")
            assert await cache.get("bad") == raw
        await cache.set("max", str(2**63 - 1).encode())
        with pytest.raises(CacheValueError):
            await cache.increment("max")
        assert await cache.increment("max", -1) == 2**63 - 2

    async def test_increment_is_atomic_under_50_tasks(self, cache: Cache) -> None:
        async def bump() -> None:
            for _ in range(10):
                await cache.increment("counter")

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(bump)
        assert await cache.get("counter") == b"500"

    async def test_many(self, cache: Cache) -> None:
        await cache.set_many({"a": b"1", "b": b"2", "c": b"3"})
        assert await cache.get_many(["a", "b", "missing", "c"]) == {"a": b"1", "b": b"2", "c": b"3"}
        assert await cache.get_many([]) == {}
        assert await cache.delete_many(["a", "missing", "b", "a"]) == 2
        assert await cache.get_many(["a", "b", "c"]) == {"c": b"3"}
        assert await cache.delete_many([]) == 0
        await cache.set_many({})

    async def test_namespaces_are_isolated(
        self, open_test_cache: Callable[[str | None], Cache], cache_namespace: str
    ) -> None:
        one = open_test_cache(cache_namespace + "-one")
        two = open_test_cache(cache_namespace + "-two")
        await one.set("k", b"one")
        await two.set("k", b"two")
        assert await one.get("k") == b"one"
        assert await two.get("k") == b"two"
        await one.clear()
        assert await one.get("k") is None
        assert await two.get("k") == b"two"

    async def test_clear_a_sub_namespace_then_flush(self, cache: Cache) -> None:
        await cache.set_many(
            {"users:1": b"a", "users:2": b"b", "users:x:3": b"c", "orders:1": b"d"}
        )
        await cache.set("users", b"not inside users:")
        await cache.clear("users")
        assert await cache.get_many(["users:1", "users:2", "users:x:3"]) == {}
        assert await cache.get("orders:1") == b"d"
        assert await cache.get("users") == b"not inside users:"
        await cache.set("users:1", b"back")  # a cleared namespace is usable again
        assert await cache.get("users:1") == b"back"
        await cache.flush()
        assert await cache.get_many(["orders:1", "users", "users:1"]) == {}

    async def test_keys_are_stored_as_namespace_colon_key(
        self,
        cache_traits: CacheTraits,
        open_test_cache: Callable[[str | None], Cache],
        cache: Cache,
    ) -> None:
        if not cache_traits.shared_store:
            return  # each object has its own store: nothing outside it can look
        whole = open_test_cache(None)  # no namespace: sees every key as stored
        await cache.set("k", b"v")
        assert await whole.get(f"{cache.namespace}:k") == b"v"
        await whole.set(f"{cache.namespace}:other", b"w")
        assert await cache.get("other") == b"w"

    async def test_lock_contention_and_tokens(self, cache: Cache) -> None:
        results: list[str | None] = []

        async def contend() -> None:
            results.append(await cache.lock("resource", ttl=30))

        async with anyio.create_task_group() as tg:
            tg.start_soon(contend)
            tg.start_soon(contend)
        tokens = [t for t in results if t is not None]
        assert len(tokens) == 1
        token = tokens[0]
        assert await cache.lock("resource", ttl=30) is None
        assert await cache.unlock("resource", "not-the-token") is False
        assert await cache.lock("resource", ttl=30) is None  # still held
        assert await cache.unlock("other", token) is False
        assert await cache.unlock("resource", token) is True
        assert await cache.unlock("resource", token) is False
        again = await cache.lock("resource", ttl=30)
        assert again is not None
        assert again != token
        with pytest.raises(CacheValueError):
            await cache.unlock("resource", "")

    async def test_a_lock_does_not_touch_the_key_of_the_same_name(self, cache: Cache) -> None:
        await cache.set("resource", b"data")
        token = await cache.lock("resource", ttl=30)
        assert token is not None
        assert await cache.get("resource") == b"data"
        assert await cache.unlock("resource", token)
        assert await cache.get("resource") == b"data"

    async def test_stats_count_this_objects_calls(
        self, cache_traits: CacheTraits, cache: Cache
    ) -> None:
        await cache.set_many({"a": b"1", "b": b"22"})
        await cache.set("c", b"333")
        assert await cache.get("a") == b"1"
        assert await cache.get("nope") is None
        assert await cache.get_many(["b", "gone"]) == {"b": b"22"}
        assert await cache.delete("c")
        assert not await cache.delete("c")
        assert await cache.set_nx("a", b"x") is False
        stats = await cache.stats()
        assert (stats.hits, stats.misses, stats.sets, stats.deletes) == (2, 2, 3, 1)
        assert stats.additional_metrics["backend"] == cache_traits.backend
        assert all(isinstance(v, str) for v in stats.additional_metrics.values())
        if cache_traits.counts_items:
            assert stats.item_count == 2
        else:
            assert stats.item_count is None  # a store that cannot count one namespace

    async def test_ping_and_context_manager(
        self, open_test_cache: Callable[[str | None], Cache], cache_namespace: str
    ) -> None:
        async with open_test_cache(cache_namespace) as cache:
            assert await cache.ping() is True
            await cache.set("k", b"v")
            assert await cache.get("k") == b"v"
            await cache.flush()

    @pytest.mark.parametrize("encoder", [JsonEncoder(), None], ids=["json", "default"])
    async def test_encoded_cache_round_trips_python_values(
        self, cache: Cache, cache_plugins: Plugins, encoder: JsonEncoder | None
    ) -> None:
        encoded = EncodedCache(cache, encoder, plugins=cache_plugins)
        doc = {"id": 7, "tags": ["a", "é"], "nested": {"ok": True, "none": None}}
        await encoded.set("doc", doc)
        assert await encoded.get("doc") == doc
        assert await encoded.get("missing", default=[]) == []
        assert await encoded.get_set("doc", [1, 2]) == doc
        assert await encoded.set_nx("doc", "x") is False
        await encoded.set_many({"a": 1, "b": "two"})
        assert await encoded.get_many(["a", "b", "c"]) == {"a": 1, "b": "two"}
        assert await encoded.increment("n", 3) == 3
        assert await cache.get("doc") == encoded.encoder.encode([1, 2])
        assert await encoded.delete_many(["a", "b"]) == 2
        token = await encoded.lock("l", 10)
        assert token is not None
        assert await encoded.unlock("l", token)
        assert (await encoded.stats()).sets == 4
