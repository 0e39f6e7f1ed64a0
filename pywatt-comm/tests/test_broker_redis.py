from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from pywatt.comm.brokers.redis_streams import RedisStreamsBroker
from pywatt.comm.brokers.testing import BrokerConformance
from pywatt.core.brokers import Broker
from pywatt.core.testing import require_server

URL = "redis://127.0.0.1:6379/0"


class TestRedisStreamsBroker(BrokerConformance):
    @pytest.fixture
    def broker_url(self) -> str:
        require_server("Redis", "127.0.0.1", 6379)
        return URL

    async def drop_connection(self, broker: Broker) -> None:
        """CLIENT KILL every connection named after this broker, and only those."""
        assert isinstance(broker, RedisStreamsBroker)
        admin = Redis.from_url(URL, client_name=f"pywatt-admin-{uuid.uuid4().hex[:8]}")
        try:
            mine = [c for c in await admin.client_list() if c["name"] == broker.client_name]
            assert mine, "the broker's connections carry its CLIENT SETNAME name"
            for conn in mine:
                await admin.client_kill_filter(_id=conn["id"])
        finally:
            await admin.aclose()
