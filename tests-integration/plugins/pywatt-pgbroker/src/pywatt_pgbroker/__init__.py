"""pywatt-pgbroker: ``pgbroker://user@host:5432/db``, a broker kept in PostgreSQL tables.

The broker lives in :mod:`pywatt_pgbroker.broker`; this package imports nothing, so that
discovering the plugin does not load psycopg.
"""

from __future__ import annotations
