"""The backend runs pywatt's cache conformance kit, opened the way users open it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from pywatt_dictcache import DictCache

from pywatt.data import Cache, open_cache
from pywatt.data.testing import CacheConformance, CacheTraits


class TestDictCache(CacheConformance):
    @pytest.fixture
    def cache_traits(self) -> CacheTraits:
        return CacheTraits(backend="dict")  # what stats() reports as its backend

    @pytest.fixture
    async def open_test_cache(self) -> AsyncIterator[Callable[[str | None], Cache]]:
        store = f"dict://kit-{uuid.uuid4().hex[:8]}"
        opened: list[Cache] = []

        def make(namespace: str | None) -> Cache:
            cache = open_cache(store, namespace=namespace)
            opened.append(cache)
            return cache

        yield make
        for cache in opened:
            if cache.namespace is not None:
                await cache.flush()
            await cache.close()


def test_the_entry_point_registers_the_dict_scheme() -> None:
    cache = open_cache("dict://entry-point-check?namespace=ns")
    assert isinstance(cache, DictCache)
    assert cache.namespace == "ns"
