"""pywatt's own database backends through the shipped kit: sqlite, PostgreSQL, MariaDB, and the
proxy backend in front of the dev orchestrator's SQLite, PostgreSQL and MariaDB.

The ``db_flavor`` fixture in conftest.py parametrizes the backend; the tests are
:class:`pywatt.data.testing.DatabaseConformance`, the same suite third-party backends run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pywatt.core.plugins import Plugins
from pywatt.data import Database, open_database
from pywatt.data.testing import DatabaseConformance, DatabaseTraits


class TestOurDatabaseBackends(DatabaseConformance):
    @pytest.fixture
    def database_traits(self, db_flavor: Any) -> DatabaseTraits:
        return db_flavor.traits

    @pytest.fixture
    def open_test_database(self, db_flavor: Any, db_plugins: Plugins) -> Callable[[], Database]:
        return lambda: open_database(db_flavor.url, plugins=db_plugins)
