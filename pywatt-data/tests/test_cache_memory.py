"""The memory backend's own promises: the LRU bound and expiry pruning."""

from __future__ import annotations

import anyio
import pytest

from pywatt.core.errors import ConfigError
from pywatt.data import MemoryCacheConfig, open_cache

pytestmark = pytest.mark.anyio


async def test_least_recently_used_key_is_evicted_at_the_bound(cache_plugins):
    cache = open_cache("memory://?max_items=3", plugins=cache_plugins)
    await cache.set_many({"a": b"1", "b": b"2", "c": b"3"})
    assert await cache.get("a") == b"1"  # a is now more recent than b
    await cache.set("d", b"4")
    assert await cache.get_many(["a", "b", "c", "d"]) == {"a": b"1", "c": b"3", "d": b"4"}
    await cache.increment("c")  # writes refresh recency too
    await cache.set("e", b"5")
    assert await cache.get_many(["a", "c", "d", "e"]) == {"c": b"4", "d": b"4", "e": b"5"}
    stats = await cache.stats()
    assert stats.item_count == 3
    assert stats.additional_metrics["evictions"] == "2"


async def test_expired_items_are_pruned_before_live_ones_are_evicted():
    cache = MemoryCacheConfig(max_items=2).open()
    await cache.set("short", b"1", ttl=0.05)
    await cache.set("keep", b"2")
    await anyio.sleep(0.2)
    await cache.set("new", b"3")
    assert await cache.get_many(["short", "keep", "new"]) == {"keep": b"2", "new": b"3"}
    metrics = (await cache.stats()).additional_metrics
    assert (metrics["evictions"], metrics["expirations"]) == ("0", "1")


async def test_increment_keeps_an_existing_ttl():
    cache = MemoryCacheConfig().open()
    await cache.set("n", b"1", ttl=0.1)
    assert await cache.increment("n") == 2
    await anyio.sleep(0.3)
    assert await cache.get("n") is None


def test_bound_must_be_positive():
    with pytest.raises(ConfigError, match="max_items"):
        MemoryCacheConfig(max_items=0)
    with pytest.raises(ConfigError, match="not a int"):
        MemoryCacheConfig.from_url("memory://?max_items=lots")


async def test_keys_and_sizes_in_the_private_store():
    # A memory cache owns its store, so the kit cannot look at it from outside: look here.
    cache = open_cache("memory://", namespace="ns-private")
    await cache.set_many({"a": b"1", "b": b"22"})
    assert "ns-private:a" in cache._items
    stats = await cache.stats()
    assert stats.memory_used_bytes == 2 * len("ns-private:a") + 1 + 2
