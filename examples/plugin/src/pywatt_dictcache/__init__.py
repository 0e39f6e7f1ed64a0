"""pywatt-dictcache: an example third-party cache backend for pywatt (``dict://``)."""

from __future__ import annotations

from pywatt_dictcache.cache import DictCache

__all__ = ["DictCache"]
