"""Broker backends: ``memory://`` always, ``nats://`` and ``redis://`` behind their extras.

The NATS and Redis modules import their clients only when a broker is built, so this package
imports with neither installed.
"""

from __future__ import annotations

from pywatt.comm.brokers._consumer import DEAD_ATTEMPTS, DEAD_REASON, DEAD_SUBJECT, PullConsumer
from pywatt.comm.brokers.memory import MemoryBroker

__all__ = ["DEAD_ATTEMPTS", "DEAD_REASON", "DEAD_SUBJECT", "MemoryBroker", "PullConsumer"]
