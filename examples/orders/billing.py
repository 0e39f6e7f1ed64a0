"""The billing consumer: bills each ``orders.created`` event once across all its replicas.

Every replica subscribes in the group ``billing``, so the broker hands each order to one of
them. Each bill is announced on ``orders.billed`` with the replica's module id, which is how
the tests see the work being shared. ``ORDERS_SUBJECT`` / ``BILLED_SUBJECT`` rename subjects.
"""

from __future__ import annotations

import asyncio
import os

from pywatt.core import PyWattModule
from pywatt.core.messaging import Event

SUBJECT = os.environ.get("ORDERS_SUBJECT", "orders.created")
BILLED = os.environ.get("BILLED_SUBJECT", "orders.billed")

billing: PyWattModule[object] = PyWattModule(None)  # no HTTP: it only consumes


@billing.subscribe(SUBJECT, group="billing", max_deliver=5, ack_wait=10.0, concurrency=4)
async def bill(event: Event) -> None:
    order = event.data
    await asyncio.sleep(0.01)  # the work
    by = event.state.module_id
    await event.state.broker.publish(BILLED, {"order": order["id"], "by": by})


if __name__ == "__main__":
    billing.run()
