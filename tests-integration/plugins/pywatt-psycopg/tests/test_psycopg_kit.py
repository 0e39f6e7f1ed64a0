"""The psycopg backend passes pywatt's database kit against the PostgreSQL on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pywatt_psycopg import PsycopgDatabase

from pywatt.core.testing import require_server
from pywatt.data import Database, open_database
from pywatt.data.testing import DatabaseConformance, DatabaseTraits

URL = "psycopg://postgres@127.0.0.1:5432/test"


class TestPsycopgDatabase(DatabaseConformance):
    @pytest.fixture
    def database_traits(self) -> DatabaseTraits:
        return DatabaseTraits(backend="psycopg", blob="BYTEA")

    @pytest.fixture
    def open_test_database(self) -> Callable[[], Database]:
        require_server("PostgreSQL", "127.0.0.1", 5432)  # under CI=true: a failure, not a skip
        return lambda: open_database(URL)


def test_the_scheme_opens_this_backend() -> None:
    assert isinstance(open_database(URL), PsycopgDatabase)
