"""The consumer process the conformance kit kills with SIGKILL mid-batch.

``python -m pywatt.comm.brokers._kit_consumer URL SUBJECT GROUP ACK_WAIT`` prints ``ready``
once subscribed, then each message's data as its handler finishes, slowly, until killed.
"""

from __future__ import annotations

import asyncio
import sys

from pywatt.core.brokers import Delivery, SubscribeOptions, broker_for_url


async def main(url: str, subject: str, group: str, ack_wait: float) -> None:
    broker = broker_for_url(url)
    await broker.connect()

    async def handle(delivery: Delivery) -> None:
        # Slow (8 at a time, 100 ms each: 80 a second), so that even a publisher taking ~10 ms
        # per message has not been overtaken when the kit kills this process after 20.
        await asyncio.sleep(0.1)
        sys.stdout.write(delivery.data.decode() + "\n")
        sys.stdout.flush()

    options = SubscribeOptions(group=group, ack_wait=ack_wait, concurrency=8)
    await broker.subscribe(subject, handle, options)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
