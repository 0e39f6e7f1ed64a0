from __future__ import annotations

import pytest

from pywatt.comm.brokers.nats_jetstream import NatsBroker
from pywatt.comm.brokers.testing import BrokerConformance
from pywatt.core.brokers import Broker
from pywatt.core.testing import require_server

URL = "nats://127.0.0.1:4222"


class TestNatsBroker(BrokerConformance):
    @pytest.fixture
    def broker_url(self) -> str:
        require_server("NATS", "127.0.0.1", 4222)
        return URL

    async def drop_connection(self, broker: Broker) -> None:
        """Close the client's socket under it, as a network failure would; it reconnects."""
        assert isinstance(broker, NatsBroker)
        transport = broker.client._transport
        assert transport is not None
        transport.close()
