"""Conformance kits for data backends, imported only by tests (they need pytest and anyio).

* :class:`CacheConformance` with :class:`CacheTraits`: a cache backend
  (``pywatt.data.testing.cache``).
* :class:`DatabaseConformance` with :class:`DatabaseTraits`: a database backend
  (``pywatt.data.testing.database``).

A third-party package subclasses one in a test module and provides two fixtures; pywatt's own
backends run through the same classes.
"""

from __future__ import annotations

from pywatt.data.testing.cache import CacheConformance, CacheTraits
from pywatt.data.testing.database import DatabaseConformance, DatabaseTraits

__all__ = ["CacheConformance", "CacheTraits", "DatabaseConformance", "DatabaseTraits"]
