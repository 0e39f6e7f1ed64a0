"""The orders producer: ``POST /orders?count=N`` publishes N ``orders.created`` events.

Run it next to one or more billing consumers, all on one broker::

    pywatt run examples/orders/producer.py --cmd "python examples/orders/billing.py" \
        --cmd "python examples/orders/billing.py" --id producer --id billing-1 --id billing-2 \
        --broker nats://127.0.0.1:4222

``ORDERS_SUBJECT`` renames the subject (the tests use a fresh one per run).
"""

from __future__ import annotations

import itertools
import os

from fastapi import FastAPI

from pywatt.core import AppState, pywatt_module

SUBJECT = os.environ.get("ORDERS_SUBJECT", "orders.created")


@pywatt_module()
def create_app(state: AppState[object]) -> FastAPI:
    app = FastAPI(title="orders producer")
    numbers = itertools.count(1)

    @app.post("/orders")
    async def place(count: int = 1) -> dict[str, object]:
        ids = [next(numbers) for _ in range(count)]
        for order_id in ids:
            await state.broker.publish(SUBJECT, {"id": order_id, "total_cents": 100 * order_id})
        return {"published": len(ids), "last": ids[-1] if ids else None}

    return app


if __name__ == "__main__":
    create_app.run()
