from __future__ import annotations

import pytest

from pywatt.comm.brokers.testing import BrokerConformance
from pywatt.core.brokers import Broker


class TestMemoryBroker(BrokerConformance):
    @pytest.fixture
    def broker_url(self) -> str:
        return "memory://kit"

    async def drop_connection(self, broker: Broker) -> None:
        """In-process: there is no connection to drop; the test checks delivery around it."""
