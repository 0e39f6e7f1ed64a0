"""pywatt's own cache backends through the shipped kit: memory, file, Redis, memcached, proxy.

The fixtures in conftest.py parametrize the backend; the tests are
:class:`pywatt.data.testing.CacheConformance`, the same suite third-party backends run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pywatt.data import Cache
from pywatt.data.testing import CacheConformance, CacheTraits


class TestOurCacheBackends(CacheConformance):
    @pytest.fixture
    def cache_traits(self, cache_backend: str) -> CacheTraits:
        return CacheTraits(
            backend=cache_backend,
            shared_store=cache_backend != "memory",
            counts_items=cache_backend != "memcached",
        )

    @pytest.fixture
    def open_test_cache(self, our_caches: Callable[..., Cache]) -> Callable[..., Cache]:
        return our_caches  # the proxy's caches are built on a loopback orchestrator
