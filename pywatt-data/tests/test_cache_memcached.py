"""Memcached-only behaviour: the event loop keeps running, and any key is usable."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import anyio
import pytest

from pywatt.core.errors import CacheBackendError
from pywatt.core.testing import require_server
from pywatt.data import MemcachedCacheConfig
from pywatt.data.cache._keys import memcached_key

pytestmark = pytest.mark.anyio


@pytest.fixture
async def mc() -> AsyncIterator[object]:
    require_server("memcached", "127.0.0.1", 11211)
    config = MemcachedCacheConfig(namespace=f"pwtest-{uuid.uuid4().hex[:12]}")
    async with config.open() as cache:
        yield cache
        await cache.flush()


async def test_calls_do_not_block_the_event_loop(mc):
    ticks = 0
    calls = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.sleep(0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.sleep(0)
        start = ticks
        for i in range(100):
            await mc.set(f"k{i}", b"v")
            assert await mc.get(f"k{i}") == b"v"
            calls += 2
        during = ticks - start
        tg.cancel_scope.cancel()
    # A call that blocked the loop would let the ticker run zero times while it waits.
    assert during >= calls


async def test_long_spaced_and_unicode_keys_work_and_stay_distinct(mc):
    keys = ["x" * 300, "x" * 301, "with space", "with\nnewline", "tab\there", "ünïcode", "ok"]
    await mc.set_many({k: k.encode() for k in keys})
    assert await mc.get_many(keys) == {k: k.encode() for k in keys}
    for key in keys[:-1]:
        assert await mc.get(key) == key.encode()
    assert await mc.delete_many(keys) == len(keys)


def test_key_mapping_is_deterministic_and_only_hashes_when_needed():
    assert memcached_key("ns:plain-key") == b"ns:plain-key"
    long = memcached_key("k" * 251)
    assert long == memcached_key("k" * 251)
    assert long.startswith(b"pwh:")
    assert len(long) <= 250
    assert memcached_key("k" * 250) == b"k" * 250
    assert memcached_key("a b") != memcached_key("a_b")
    assert memcached_key("a\x7f").startswith(b"pwh:")


async def test_a_ttl_beyond_thirty_days_is_kept_not_expired_at_once(mc):
    await mc.set("month", b"v", ttl=40 * 24 * 3600)
    assert await mc.get("month") == b"v"


async def test_clearing_one_namespace_keeps_its_siblings(mc):
    await mc.set_many({"a:1": b"1", "a:b:2": b"2", "ab:3": b"3"})
    await mc.clear("a")
    assert await mc.get_many(["a:1", "a:b:2", "ab:3"]) == {"ab:3": b"3"}


async def test_an_unreachable_server_fails_typed_and_pings_false():
    cache = MemcachedCacheConfig(port=1, connect_timeout=1, timeout=1).open()
    assert await cache.ping() is False
    with pytest.raises(CacheBackendError, match=r"127\.0\.0\.1:1\b"):
        await cache.get("k")
