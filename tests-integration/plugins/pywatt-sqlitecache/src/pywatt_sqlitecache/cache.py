"""``sqlitecache:///var/cache/app.db``: a cache kept in one SQLite file.

Every cache opened on the same file, in this process or another, sees the same keys.
Read-modify-write operations run in ``BEGIN IMMEDIATE`` transactions, so they are atomic
against every other client of the file; expiry times are wall-clock, since processes share
them.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import anyio
from anyio import to_thread

from pywatt.data import BackendStats, Cache, CacheSettings, incremented

__all__ = ["SqliteCache"]

_T = TypeVar("_T")
_LIVE = "(expires IS NULL OR expires > ?)"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS pywatt_cache "
    "(key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL)"
)


def _expiry(ttl: float | None) -> float | None:
    return None if ttl is None else time.time() + ttl


class SqliteCache(Cache):
    backend = "sqlitecache"

    def __init__(self, settings: CacheSettings) -> None:
        super().__init__(settings.namespace)
        self.path = unquote(urlsplit(settings.url).path) or ":memory:"
        self._conn: sqlite3.Connection | None = None
        self._lock = anyio.Lock()  # one call at a time on this object's connection

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            # Autocommit; the read-modify-write calls open their own transactions.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 30000")  # wait for another writer's commit
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        async with self._lock:
            return await to_thread.run_sync(lambda: work(self._connect()))

    async def _atomic(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """``work`` in one ``BEGIN IMMEDIATE`` transaction: no other writer in between."""

        def run(conn: sqlite3.Connection) -> _T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._run(run)

    # -- the primitives, on full keys --------------------------------------------------------

    async def _get(self, key: str) -> bytes | None:
        def get(conn: sqlite3.Connection) -> bytes | None:
            sql = f"SELECT value FROM pywatt_cache WHERE key = ? AND {_LIVE}"
            row = conn.execute(sql, (key, time.time())).fetchone()
            return None if row is None else bytes(row[0])

        return await self._run(get)

    async def _set(self, key: str, value: bytes, ttl: float | None) -> None:
        sql = "INSERT OR REPLACE INTO pywatt_cache (key, value, expires) VALUES (?, ?, ?)"
        await self._run(lambda conn: conn.execute(sql, (key, value, _expiry(ttl))))

    async def _delete(self, key: str) -> bool:
        return await self._delete_many([key]) == 1

    async def _exists(self, key: str) -> bool:
        return await self._get(key) is not None

    async def _set_nx(self, key: str, value: bytes, ttl: float | None) -> bool:
        # An expired row counts as absent: it is overwritten, a live one is kept.
        sql = (
            "INSERT INTO pywatt_cache (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires "
            "WHERE pywatt_cache.expires IS NOT NULL AND pywatt_cache.expires <= ?"
        )
        params = (key, value, _expiry(ttl), time.time())
        return await self._run(lambda conn: conn.execute(sql, params).rowcount == 1)

    def _read_live(self, conn: sqlite3.Connection, key: str) -> tuple[bytes, float | None] | None:
        sql = f"SELECT value, expires FROM pywatt_cache WHERE key = ? AND {_LIVE}"
        row = conn.execute(sql, (key, time.time())).fetchone()
        return None if row is None else (bytes(row[0]), row[1])

    async def _get_set(self, key: str, value: bytes) -> bytes | None:
        def swap(conn: sqlite3.Connection) -> bytes | None:
            old = self._read_live(conn, key)
            sql = "INSERT OR REPLACE INTO pywatt_cache (key, value, expires) VALUES (?, ?, NULL)"
            conn.execute(sql, (key, value))  # get_set stores without expiry
            return None if old is None else old[0]

        return await self._atomic(swap)

    async def _increment(self, key: str, delta: int) -> int:
        def bump(conn: sqlite3.Connection) -> int:
            old = self._read_live(conn, key)
            # The shared rules: decimal integer text only, the signed 64-bit range.
            number, stored = incremented(None if old is None else old[0], delta)
            expires = None if old is None else old[1]  # an existing TTL survives
            sql = "INSERT OR REPLACE INTO pywatt_cache (key, value, expires) VALUES (?, ?, ?)"
            conn.execute(sql, (key, stored, expires))
            return number

        return await self._atomic(bump)

    async def _set_many(self, items: dict[str, bytes], ttl: float | None) -> None:
        rows = [(key, value, _expiry(ttl)) for key, value in items.items()]
        sql = "INSERT OR REPLACE INTO pywatt_cache (key, value, expires) VALUES (?, ?, ?)"
        await self._atomic(lambda conn: conn.executemany(sql, rows))

    async def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        def get_many(conn: sqlite3.Connection) -> dict[str, bytes]:
            found: dict[str, bytes] = {}
            now = time.time()
            for key in dict.fromkeys(keys):
                sql = f"SELECT value FROM pywatt_cache WHERE key = ? AND {_LIVE}"
                row = conn.execute(sql, (key, now)).fetchone()
                if row is not None:
                    found[key] = bytes(row[0])
            return found

        return await self._run(get_many)

    async def _delete_many(self, keys: list[str]) -> int:
        def delete_many(conn: sqlite3.Connection) -> int:
            removed = 0
            now = time.time()
            for key in keys:
                sql = f"DELETE FROM pywatt_cache WHERE key = ? AND {_LIVE}"
                removed += conn.execute(sql, (key, now)).rowcount
                # An expired row is gone too, though it was never there for the caller.
                conn.execute("DELETE FROM pywatt_cache WHERE key = ?", (key,))
            return removed

        return await self._atomic(delete_many)

    async def _clear(self, prefix: str) -> None:
        sql = "DELETE FROM pywatt_cache WHERE substr(key, 1, ?) = ?"
        await self._run(lambda conn: conn.execute(sql, (len(prefix), prefix)))

    async def _unlock(self, key: str, token: bytes) -> bool:
        sql = f"DELETE FROM pywatt_cache WHERE key = ? AND value = ? AND {_LIVE}"
        params = (key, token, time.time())
        return await self._run(lambda conn: conn.execute(sql, params).rowcount == 1)

    async def _stats(self, prefix: str) -> BackendStats:
        def stats(conn: sqlite3.Connection) -> BackendStats:
            sql = (
                "SELECT COUNT(*), COALESCE(SUM(length(key) + length(value)), 0) "
                f"FROM pywatt_cache WHERE substr(key, 1, ?) = ? AND {_LIVE}"
            )
            count, size = conn.execute(sql, (len(prefix), prefix, time.time())).fetchone()
            return BackendStats(item_count=int(count), memory_used_bytes=int(size))

        return await self._run(stats)

    async def ping(self) -> bool:
        try:
            return bool(await self._run(lambda conn: conn.execute("SELECT 1").fetchone()[0] == 1))
        except Exception:
            return False

    async def close(self) -> None:
        # Used again after close, the cache reopens the file, as pywatt's backends reconnect.
        async with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await to_thread.run_sync(conn.close)
