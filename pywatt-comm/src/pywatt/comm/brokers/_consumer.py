"""The subscription loop every backend shares: pull, handle, settle, dead-letter, drain.

A backend supplies ``pull(max, timeout)``; this loop runs the handler on what it returns,
acks on success, nacks on an exception, and moves a message that used up ``max_deliver``
attempts to the dead-letter subject. Draining stops pulling and waits for what was pulled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from pywatt.core.brokers import (
    Delivery,
    Handler,
    PublishAck,
    SubscribeOptions,
    dead_letter_subject,
)

__all__ = ["DEAD_ATTEMPTS", "DEAD_REASON", "DEAD_SUBJECT", "PullConsumer"]

logger = logging.getLogger("pywatt.comm.brokers")

#: Headers a dead-lettered message carries besides its own.
DEAD_SUBJECT = "pywatt-dead-subject"
DEAD_ATTEMPTS = "pywatt-dead-attempts"
DEAD_REASON = "pywatt-dead-reason"

Pull = Callable[[int, float], Awaitable[list[Delivery]]]
Publish = Callable[[str, bytes, Mapping[str, str]], Awaitable[PublishAck]]

_POLL = 0.5


class PullConsumer:
    """One running subscription; ``start()`` it, ``drain()`` it."""

    def __init__(
        self,
        subject: str,
        handler: Handler,
        options: SubscribeOptions,
        *,
        pull: Pull,
        publish: Publish,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.subject = subject
        self._handler = handler
        self._options = options
        self._pull = pull
        self._publish = publish
        self._close = close
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._loop: asyncio.Task[None] | None = None
        self._drained = False

    def start(self) -> PullConsumer:
        self._loop = asyncio.create_task(self._run(), name=f"pywatt-consume-{self.subject}")
        return self

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            free = self._options.concurrency - len(self._tasks)
            # Refill in batches (half the slots at least): one pull per message costs a round trip.
            if free <= 0 or (self._tasks and free < self._options.concurrency // 2):
                await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                deliveries = await self._pull(free, _POLL)
            except Exception as exc:  # a dropped connection: back off and pull again
                failures += 1
                if failures == 1:
                    logger.warning(
                        "pulling %s failed, retrying: %s: %s", self.subject, type(exc).__name__, exc
                    )
                await asyncio.sleep(min(0.1 * failures, 1.0))
                continue
            if failures:
                logger.info("pulling %s works again", self.subject)
                failures = 0
            for delivery in deliveries:
                task = asyncio.create_task(self._handle(delivery))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if deliveries:
                # Let quick handlers finish (and ack) first, so the next pull is one larger
                # batch rather than many small ones: pulls are round trips.
                await asyncio.sleep(0)

    async def _handle(self, delivery: Delivery) -> None:
        options = self._options
        try:
            if delivery.attempt > options.max_deliver:
                reason = f"not acknowledged after {options.max_deliver} deliveries"
                await self._dead_letter(delivery, reason)
                return
            try:
                await self._handler(delivery)
            except Exception as exc:
                logger.warning(
                    "handler for %s failed on delivery %d of %d: %s: %s",
                    delivery.subject,
                    delivery.attempt,
                    options.max_deliver,
                    type(exc).__name__,
                    exc,
                    extra={"subject": delivery.subject, "attempt": delivery.attempt},
                )
                if delivery.settled:
                    return
                if delivery.attempt >= options.max_deliver:
                    await self._dead_letter(delivery, f"{type(exc).__name__}: {exc}")
                else:
                    await delivery.nack()
                return
            await delivery.ack()
        except Exception as exc:  # settling failed: the broker redelivers after ack_wait
            logger.warning("settling a message of %s failed: %s", delivery.subject, exc)

    async def _dead_letter(self, delivery: Delivery, reason: str) -> None:
        headers = dict(delivery.headers)
        headers[DEAD_SUBJECT] = delivery.subject
        headers[DEAD_ATTEMPTS] = str(min(delivery.attempt, self._options.max_deliver))
        headers[DEAD_REASON] = reason
        target = dead_letter_subject(self.subject, self._options)
        await self._publish(target, delivery.data, headers)
        await delivery.ack()
        logger.warning(
            "dead-lettered a message of %s to %s: %s",
            delivery.subject,
            target,
            reason,
            extra={"subject": delivery.subject, "attempt": delivery.attempt},
        )

    async def drain(self, timeout: float = 10.0) -> None:
        if self._drained:
            return
        self._drained = True
        self._stopping = True
        if self._loop is not None:
            # The loop notices within one poll; what it pulled meanwhile is handled too.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._loop), _POLL * 4)
            if not self._loop.done():
                self._loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._loop
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
        if self._close is not None:
            with contextlib.suppress(Exception):
                await self._close()

    async def abort(self) -> None:
        """Stop at once without settling anything: what was in flight gets redelivered."""
        self._drained = self._stopping = True
        for task in [self._loop, *self._tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in [self._loop, *self._tasks] if t), return_exceptions=True)
