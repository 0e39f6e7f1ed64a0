"""A cache in a directory, one file per key, shared safely between processes.

A file is ``PWC1`` + expiry (wall-clock seconds, 0 = never) + key length, then the key and the
value. Writes go to a temporary file and ``os.replace`` it, so readers never see half a value.
Writers take an ``fcntl`` lock on one of 256 stripe files, so read-modify-write operations
(increment, set_nx, get_set, unlock) are atomic across processes. Blocking I/O runs in threads.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from pywatt.core.errors import CacheBackendError
from pywatt.data.cache._numbers import incremented
from pywatt.data.cache._threaded import ThreadedStoreCache
from pywatt.data.cache.base import BackendStats

__all__ = ["FileCache"]

_HEADER = struct.Struct(">4sdI")
_MAGIC = b"PWC1"
_SUFFIX = ".pwc"
_T = TypeVar("_T")


class _Entry:
    __slots__ = ("expires", "key", "value")

    def __init__(self, key: str, expires: float, value: bytes) -> None:
        self.key, self.expires, self.value = key, expires, value

    def live(self, now: float) -> bool:
        return self.expires == 0.0 or self.expires > now


class _FileStore:
    """The blocking half: everything here runs in a worker thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.locks = root / ".locks"
        try:
            self.locks.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheBackendError(f"file cache cannot use directory {root}: {exc}") from exc

    def path(self, key: str) -> Path:
        return self.root / (hashlib.sha256(key.encode()).hexdigest() + _SUFFIX)

    @contextlib.contextmanager
    def locked(self, path: Path) -> Iterator[None]:
        fd = os.open(self.locks / path.name[:2], os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def read(self, path: Path) -> _Entry | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if len(data) < _HEADER.size:
            raise CacheBackendError(f"cache file {path} is truncated")
        magic, expires, key_len = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise CacheBackendError(f"cache file {path} is not a pywatt cache file")
        end = _HEADER.size + key_len
        return _Entry(data[_HEADER.size : end].decode(), expires, data[end:])

    def live(self, path: Path) -> _Entry | None:
        entry = self.read(path)
        return entry if entry is not None and entry.live(time.time()) else None

    def write(self, path: Path, key: str, value: bytes, expires: float) -> None:
        raw_key = key.encode()
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_HEADER.pack(_MAGIC, expires, len(raw_key)) + raw_key + value)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def unlink(self, path: Path) -> bool:
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def entries(self) -> Iterator[tuple[Path, _Entry]]:
        for path in self.root.glob("*" + _SUFFIX):
            entry = self.read(path)
            if entry is not None:
                yield path, entry

    # --- operations ------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        path = self.path(key)
        entry = self.read(path)
        if entry is None:
            return None
        if entry.live(time.time()):
            return entry.value
        with self.locked(path):  # re-check: a writer may have replaced it meanwhile
            if self.live(path) is None:
                self.unlink(path)
        return None

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        path = self.path(key)
        with self.locked(path):
            self.write(path, key, value, _expiry(ttl))

    def delete(self, key: str) -> bool:
        path = self.path(key)
        with self.locked(path):
            return self.live(path) is not None and self.unlink(path)

    def set_nx(self, key: str, value: bytes, ttl: float | None) -> bool:
        path = self.path(key)
        with self.locked(path):
            if self.live(path) is not None:
                return False
            self.write(path, key, value, _expiry(ttl))
            return True

    def get_set(self, key: str, value: bytes) -> bytes | None:
        path = self.path(key)
        with self.locked(path):
            old = self.live(path)
            self.write(path, key, value, 0.0)
            return None if old is None else old.value

    def increment(self, key: str, delta: int) -> int:
        path = self.path(key)
        with self.locked(path):
            old = self.live(path)
            number, stored = incremented(None if old is None else old.value, delta)
            self.write(path, key, stored, 0.0 if old is None else old.expires)
            return number

    def set_many(self, items: dict[str, bytes], ttl: float | None) -> None:
        for key, value in items.items():
            self.set(key, value, ttl)

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        found = {key: self.get(key) for key in keys}
        return {key: value for key, value in found.items() if value is not None}

    def delete_many(self, keys: list[str]) -> int:
        return sum(self.delete(key) for key in keys)

    def clear(self, prefix: str) -> None:
        for path, entry in self.entries():
            if entry.key.startswith(prefix):
                with self.locked(path):
                    self.unlink(path)

    def unlock(self, key: str, token: bytes) -> bool:
        path = self.path(key)
        with self.locked(path):
            entry = self.live(path)
            return entry is not None and entry.value == token and self.unlink(path)

    def stats(self, prefix: str) -> BackendStats:
        now = time.time()
        count = size = 0
        for _, entry in self.entries():
            if entry.key.startswith(prefix) and entry.live(now):
                count += 1
                size += _HEADER.size + len(entry.key.encode()) + len(entry.value)
        return BackendStats(
            item_count=count,
            additional_metrics={"directory": str(self.root), "disk_bytes": str(size)},
        )


def _expiry(ttl: float | None) -> float:
    return 0.0 if ttl is None else time.time() + ttl


class FileCache(ThreadedStoreCache):
    backend = "file"

    def __init__(self, directory: str | os.PathLike[str], *, namespace: str | None = None) -> None:
        super().__init__(namespace)
        self.directory = Path(directory)
        self._store = _FileStore(self.directory)

    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        try:
            return await anyio.to_thread.run_sync(func, *args)
        except OSError as exc:
            raise CacheBackendError(f"file cache {self.directory}: {exc}") from exc

    async def ping(self) -> bool:
        return await anyio.to_thread.run_sync(os.access, self.directory, os.W_OK)

    async def close(self) -> None:
        """Nothing stays open between operations."""
