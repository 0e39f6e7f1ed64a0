"""Choosing a backend: URL schemes through the plugin registry, typed configs, third parties."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
from dataclasses import dataclass

import pytest

from pywatt.core.errors import ConfigError, UnknownComponentError
from pywatt.core.plugins import build_plugins, hookimpl
from pywatt.data import (
    Cache,
    CacheConfig,
    FileCacheConfig,
    MemcachedCacheConfig,
    MemoryCacheConfig,
    RedisCacheConfig,
    open_cache,
)
from pywatt.data.cache.memory import MemoryCache

pytestmark = pytest.mark.anyio


class EchoCache(MemoryCache):
    backend = "echo"


@dataclass(frozen=True, kw_only=True)
class EchoCacheConfig(CacheConfig):
    """A third party's backend: a memory cache that remembers the URL it came from."""

    scheme = "echo"
    source: str = ""

    @classmethod
    def from_url(cls, url: str) -> EchoCacheConfig:
        return cls(source=url)

    def open(self) -> Cache:
        return EchoCache(namespace=self.namespace)


class EchoPlugin:
    @hookimpl
    def pywatt_register_cache_backends(self, register):
        register("echo", EchoCacheConfig)


def test_builtin_backends_are_registered_by_pywatt_data(cache_plugins):
    registry = cache_plugins.cache_backends
    assert registry.names() == ["file", "memcached", "memory", "proxy", "redis"]
    assert {registry.owner(n) for n in registry.names()} == {"data"}
    assert registry.get("redis") is RedisCacheConfig
    assert registry.get("memcached") is MemcachedCacheConfig


def test_schemes_pick_their_backend_and_namespace_applies(cache_plugins, tmp_path):
    memory = open_cache("memory://", namespace="ns", plugins=cache_plugins)
    assert (type(memory).__name__, memory.namespace) == ("MemoryCache", "ns")
    assert memory.full_key("k") == "ns:k"
    file = open_cache(f"file://{tmp_path}", plugins=cache_plugins)
    assert (type(file).__name__, file.namespace) == ("FileCache", None)
    config = MemcachedCacheConfig.from_url("memcached://10.1.2.3:4444?namespace=app")
    assert (config.host, config.port, config.namespace) == ("10.1.2.3", 4444, "app")


async def test_an_unknown_scheme_lists_what_is_installed(cache_plugins):
    with pytest.raises(UnknownComponentError) as info:
        open_cache("quic://somewhere", plugins=cache_plugins)
    assert str(info.value) == (
        "no cache backend 'quic'; installed: file, memcached, memory, proxy, redis"
    )


@pytest.mark.parametrize("target", ["", "redis", "://x", "127.0.0.1:6379"])
def test_a_string_without_a_scheme_is_a_config_error(cache_plugins, target):
    with pytest.raises(ConfigError, match="scheme://"):
        open_cache(target, plugins=cache_plugins)


def test_neither_url_nor_config_is_a_config_error(cache_plugins):
    with pytest.raises(ConfigError, match="got dict"):
        open_cache({"url": "memory://"}, plugins=cache_plugins)


async def test_a_third_party_backend_registers_the_same_way():
    eps = [ep for ep in md.entry_points(group="pywatt") if ep.name in {"core", "data"}]
    plugins = build_plugins(entry_points=eps, extra=[("echo-plugin", EchoPlugin())], env={})
    assert plugins.cache_backends.owner("echo") == "echo-plugin"
    async with open_cache("echo://anything", namespace="third", plugins=plugins) as cache:
        await cache.set("k", b"v")
        assert await cache.get("k") == b"v"
        stats = await cache.stats()
    assert stats.additional_metrics["backend"] == "echo"
    with pytest.raises(UnknownComponentError, match="echo, file, memcached, memory, proxy, redis"):
        open_cache("nope://", plugins=plugins)


async def test_a_typed_config_opens_directly(tmp_path):
    async with open_cache(FileCacheConfig(directory=str(tmp_path)), namespace="typed") as cache:
        await cache.set("k", b"v")
        assert cache.namespace == "typed"
        assert await cache.get("k") == b"v"
    cache = open_cache(MemoryCacheConfig(max_items=5))
    assert cache.namespace is None


def test_bad_namespace_is_a_typed_error():
    from pywatt.core.errors import CacheKeyError

    with pytest.raises(CacheKeyError):
        MemoryCacheConfig(namespace="").open()


def test_importing_the_cache_api_loads_no_driver():
    code = (
        "import sys, pywatt.data.cache, pywatt.data.plugin;"
        "bad = {'redis', 'pymemcache'} & {m.split('.')[0] for m in sys.modules};"
        "print(sorted(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
