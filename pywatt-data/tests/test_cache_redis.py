"""Redis-only behaviour: surviving a killed connection, and how keys sit on the server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from pywatt.core.errors import CacheValueError, ConfigError
from pywatt.core.testing import require_server
from pywatt.data import RedisCacheConfig

pytestmark = pytest.mark.anyio

URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def raw() -> AsyncIterator[object]:
    require_server("Redis", "127.0.0.1", 6379)
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(URL)
    yield client
    await client.aclose()


async def _ids_named(raw, name: str) -> set[int]:
    return {int(c["id"]) for c in await raw.client_list() if c.get("name") == name}


async def test_a_killed_connection_is_recovered_on_the_next_call(raw):
    name = f"pwtest-{uuid.uuid4().hex[:12]}"
    config = RedisCacheConfig(url=URL, namespace=name, client_name=name)
    async with config.open() as cache:
        await cache.set("k", b"before")
        killed = await _ids_named(raw, name)
        assert killed, "the cache's connection should carry its client name"
        for client_id in killed:
            await raw.client_kill_filter(_id=client_id)
        assert not await _ids_named(raw, name) & killed
        assert await cache.get("k") == b"before"  # the next call reconnects and retries
        await cache.set("k", b"after")
        assert await cache.increment("n") == 1
        assert await cache.get("k") == b"after"
        now = await _ids_named(raw, name)
        assert now
        assert not now & killed
        await cache.flush()


async def test_keys_are_namespace_colon_key_on_the_server(raw):
    ns = f"pwtest-{uuid.uuid4().hex[:12]}"
    async with RedisCacheConfig(url=URL, namespace=ns).open() as cache:
        await cache.set("k", b"v", ttl=30)
        assert await raw.get(f"{ns}:k") == b"v"
        assert 0 < await raw.pttl(f"{ns}:k") <= 30_000
        await cache.flush()
        assert await raw.exists(f"{ns}:k") == 0


async def test_clear_treats_glob_characters_in_namespaces_literally(raw):
    ns = f"pwtest-{uuid.uuid4().hex[:12]}"
    async with RedisCacheConfig(url=URL, namespace=ns).open() as cache:
        await cache.set_many({"a*:1": b"1", "ab:1": b"2", "a?:1": b"3", "[a]:1": b"4"})
        await cache.clear("a*")
        await cache.clear("[a]")
        assert await cache.get_many(["a*:1", "ab:1", "a?:1", "[a]:1"]) == {
            "ab:1": b"2",
            "a?:1": b"3",
        }
        await cache.flush()


async def test_a_wrong_type_from_the_server_is_a_typed_error(raw):
    ns = f"pwtest-{uuid.uuid4().hex[:12]}"
    async with RedisCacheConfig(url=URL, namespace=ns).open() as cache:
        await raw.rpush(f"{ns}:list", b"x")
        with pytest.raises(CacheValueError):
            await cache.increment("list")
        await cache.flush()


async def test_ping_is_false_when_nothing_listens():
    config = RedisCacheConfig(url="redis://127.0.0.1:1/0", retries=0, connect_timeout=1)
    async with config.open() as cache:
        assert await cache.ping() is False


def test_url_options():
    config = RedisCacheConfig.from_url(f"{URL}?max_connections=3&namespace=n&client_name=me")
    assert (config.url, config.max_connections, config.namespace) == (URL, 3, "n")
    assert config.client_name == "me"
    with pytest.raises(ConfigError, match="retries"):
        RedisCacheConfig(retries=-1)
