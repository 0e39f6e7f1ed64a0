"""pywatt-psycopg: ``psycopg://user@host/db``, PostgreSQL through psycopg 3 and its pool."""

from __future__ import annotations

from pywatt_psycopg.database import PsycopgDatabase

__all__ = ["PsycopgDatabase"]
