"""The file backend: atomic across processes, and honest about broken files."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from pywatt.core.errors import CacheBackendError, ConfigError
from pywatt.data import FileCacheConfig, open_cache

pytestmark = pytest.mark.anyio

_WORKER = """
import sys, anyio
from pywatt.data import FileCacheConfig

async def main() -> None:
    async with FileCacheConfig(directory=sys.argv[1], namespace="procs").open() as cache:
        for _ in range(int(sys.argv[2])):
            await cache.increment("counter")
        token = None
        while token is None:
            token = await cache.lock("shared", ttl=30)
        await cache.set("holder-" + sys.argv[3], token.encode())
        assert await cache.unlock("shared", token)

anyio.run(main)
"""


async def test_two_processes_increment_without_losing_updates(tmp_path):
    async def worker(name: str) -> None:
        cmd = [sys.executable, "-c", _WORKER, str(tmp_path), "200", name]
        result = await anyio.run_process(cmd, check=False)
        assert result.returncode == 0, result.stderr.decode()

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker, "one")
        tg.start_soon(worker, "two")
    cache = FileCacheConfig(directory=str(tmp_path), namespace="procs").open()
    assert await cache.get("counter") == b"400"
    assert set(await cache.get_many(["holder-one", "holder-two"])) == {"holder-one", "holder-two"}


async def test_writes_leave_no_temporary_files_and_expired_files_go(tmp_path):
    cache = FileCacheConfig(directory=str(tmp_path)).open()
    await cache.set("a", b"1")
    await cache.set("a", b"2")
    await cache.set("b", b"3", ttl=0.05)
    names = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".locks")]
    assert len(names) == 2
    assert all(n.endswith(".pwc") for n in names)
    await anyio.sleep(0.2)
    assert await cache.get("b") is None
    assert len(list(tmp_path.glob("*.pwc"))) == 1


async def test_a_foreign_file_is_reported_not_misread(tmp_path):
    cache = FileCacheConfig(directory=str(tmp_path)).open()
    await cache.set("k", b"v")
    (path,) = tmp_path.glob("*.pwc")
    path.write_bytes(b"not a cache file at all")
    with pytest.raises(CacheBackendError, match="not a pywatt cache file"):
        await cache.get("k")


def test_a_directory_that_cannot_be_made_is_a_backend_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(CacheBackendError, match="cannot use directory"):
        FileCacheConfig(directory=str(blocker / "sub")).open()


def test_url_parsing(cache_plugins, tmp_path):
    cache = open_cache(f"file://{tmp_path}/x%20y?namespace=ns", plugins=cache_plugins)
    assert cache.directory == Path(tmp_path, "x y")
    assert cache.namespace == "ns"
    with pytest.raises(ConfigError, match="local directory"):
        FileCacheConfig.from_url("file://host/dir")
    with pytest.raises(ConfigError, match="unknown file:// URL option 'ttl'"):
        FileCacheConfig.from_url(f"file://{tmp_path}?ttl=3")
