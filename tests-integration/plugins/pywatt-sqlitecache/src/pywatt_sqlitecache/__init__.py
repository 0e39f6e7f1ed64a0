"""pywatt-sqlitecache: ``sqlitecache:///path.db``, a cache in one SQLite file."""

from __future__ import annotations

from pywatt_sqlitecache.cache import SqliteCache

__all__ = ["SqliteCache"]
