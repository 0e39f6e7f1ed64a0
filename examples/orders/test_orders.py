"""End to end under the dev orchestrator: the producer publishes through ``state.broker``,
billing replicas share the orders, and a replica that joins mid-stream takes its share.

Runs on the real NATS JetStream at 127.0.0.1:4222 (skipped without it, failed under CI=true).
"""

from __future__ import annotations

import collections
import uuid
from pathlib import Path

import anyio
import pytest

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator
from pywatt.core.brokers import Delivery, SubscribeOptions, broker_for_url
from pywatt.core.testing import require_server

HERE = Path(__file__).parent
NATS = "nats://127.0.0.1:4222"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_replica_joining_mid_stream_shares_the_work() -> None:
    require_server("NATS", "127.0.0.1", 4222)
    run = uuid.uuid4().hex[:10]
    env = {"ORDERS_SUBJECT": f"e2e.{run}.created", "BILLED_SUBJECT": f"e2e.{run}.billed"}
    watcher = broker_for_url(NATS)
    await watcher.connect()
    billed: dict[int, list[str]] = collections.defaultdict(list)

    async def on_billed(d: Delivery) -> None:
        import json

        bill = json.loads(d.data)
        billed[bill["order"]].append(bill["by"])

    try:
        await watcher.subscribe(env["BILLED_SUBJECT"], on_billed, SubscribeOptions(group="e2e"))
        async with Orchestrator(broker_url=NATS, stop_timeout=10) as orch:
            producer = await orch.start(
                ModuleSpec.for_script(HERE / "producer.py", "producer", env=env)
            )
            await orch.start(ModuleSpec.for_script(HERE / "billing.py", "billing-1", env=env))
            first = await producer.http("POST", "/orders?count=150")
            assert first.json() == {"published": 150, "last": 150}
            with anyio.fail_after(30):
                while len(billed) < 30:
                    await anyio.sleep(0.02)
            await orch.start(ModuleSpec.for_script(HERE / "billing.py", "billing-2", env=env))
            second = await producer.http("POST", "/orders?count=150")
            assert second.json() == {"published": 150, "last": 300}
            with anyio.fail_after(60):
                while len(billed) < 300:
                    await anyio.sleep(0.05)
            codes = await orch.stop_all()
        assert codes == {"producer": 0, "billing-1": 0, "billing-2": 0}
        assert sorted(billed) == list(range(1, 301))
        assert all(len(by) == 1 for by in billed.values()), "an order was billed twice"
        share = collections.Counter(by[0] for by in billed.values())
        assert share["billing-1"] > 0
        assert share["billing-2"] > 0, f"the replica that joined took no work: {share}"
        late = collections.Counter(billed[i][0] for i in range(151, 301))
        assert late["billing-2"] > 0, late
    finally:
        await watcher.aclose()
        delete = getattr(watcher, "delete", None)
        if delete is not None:
            cleaner = broker_for_url(NATS)
            await cleaner.connect()
            for subject in (*env.values(), *(f"{s}.dead" for s in env.values())):
                await cleaner.delete(subject)  # type: ignore[attr-defined]
            await cleaner.aclose()
