"""The SQLite-file cache passes pywatt's cache kit, opened the way users open it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pywatt_sqlitecache import SqliteCache

from pywatt.data import open_cache
from pywatt.data.testing import CacheConformance, CacheTraits


class TestSqliteCache(CacheConformance):
    @pytest.fixture
    def cache_traits(self) -> CacheTraits:
        return CacheTraits(backend="sqlitecache")

    @pytest.fixture
    def cache_url(self, tmp_path: Path) -> str:
        return f"sqlitecache://{tmp_path / 'cache.db'}"


@pytest.mark.anyio
async def test_the_file_outlives_the_cache_and_is_shared(tmp_path: Path) -> None:
    url = f"sqlitecache://{tmp_path / 'shared.db'}?namespace=app"
    async with open_cache(url) as first:
        assert isinstance(first, SqliteCache)
        await first.set("k", b"kept")
    async with open_cache(url) as second:
        assert await second.get("k") == b"kept"
