"""The PostgreSQL broker passes pywatt's broker kit against the server on 127.0.0.1."""

from __future__ import annotations

import psycopg
import pytest
from pywatt_pgbroker.broker import PgBroker

from pywatt.comm.brokers.testing import BrokerConformance
from pywatt.core.brokers import Broker, broker_for_url
from pywatt.core.testing import require_server

URL = "pgbroker://postgres@127.0.0.1:5432/test"


class TestPgBroker(BrokerConformance):
    @pytest.fixture
    def broker_url(self) -> str:
        require_server("PostgreSQL", "127.0.0.1", 5432)  # under CI=true: a failure, not a skip
        return URL

    async def drop_connection(self, broker: Broker) -> None:
        """Have the server end every connection of this broker, and only those."""
        assert isinstance(broker, PgBroker)
        dsn = "postgresql://postgres@127.0.0.1:5432/test"
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as admin:
            cur = await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (broker.application_name,),
            )
            assert await cur.fetchall(), "the broker's connections carry its application_name"


def test_the_scheme_builds_this_broker() -> None:
    assert isinstance(broker_for_url(URL), PgBroker)
