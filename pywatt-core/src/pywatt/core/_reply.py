"""Request/reply: a one-shot reply slot, and the table of requests awaiting their reply.

:class:`PendingReplies` is the one request/reply primitive. The control channel files its
secrets, ports and service calls there, pywatt-comm its routed requests, and the dev
orchestrator its HTTP exchanges and rotations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["PendingReplies", "Reply", "wait_any"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class Reply(Generic[T]):
    """Filled once (value or error) by the reader; awaited by the one who asked.

    On asyncio it waits on a bare future with a loop timer for the deadline: a request/reply
    on the control channel is on every secret fetch and service call, and an anyio event plus
    a cancel scope cost more than the rest of the round trip.
    """

    __slots__ = ("_done", "_error", "_event", "_future", "_value")

    def __init__(self) -> None:
        self._done = False
        self._value: T | None = None
        self._error: BaseException | None = None
        self._future: asyncio.Future[None] | None = None
        self._event: anyio.Event | None = None

    def resolve(self, value: T) -> None:
        if not self._done:
            self._value = value
            self._settle()

    def fail(self, error: BaseException) -> None:
        if not self._done:
            self._error = error
            self._settle()

    def _settle(self) -> None:
        self._done = True
        if self._future is not None and not self._future.done():
            self._future.set_result(None)
        if self._event is not None:
            self._event.set()

    @property
    def done(self) -> bool:
        return self._done

    async def wait(self, timeout: float | None = None) -> T:
        """The value; ``TimeoutError`` after ``timeout`` seconds, or the error it failed with."""
        if not self._done:
            loop = _asyncio_loop()
            if loop is not None:
                self._future = loop.create_future()
                timer = None if timeout is None else loop.call_later(timeout, self._expire)
                try:
                    await self._future
                finally:
                    if timer is not None:
                        timer.cancel()
            else:
                self._event = anyio.Event()
                with anyio.fail_after(timeout):
                    await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def _expire(self) -> None:
        self.fail(TimeoutError("no reply in time"))


class PendingReplies(Generic[K]):
    """Requests awaiting a reply, filed under the key their reply will carry.

    Several requesters may wait on one key (two tasks asking for the same secret); a reply
    wakes them all.
    """

    __slots__ = ("_slots",)

    def __init__(self) -> None:
        self._slots: dict[K, list[Reply[Any]]] = {}

    def __len__(self) -> int:
        return len(self._slots)

    def waiting_keys(self) -> list[K]:
        return list(self._slots)

    def waiting(self, key: K) -> bool:
        return key in self._slots

    async def request(
        self, key: K, send: Callable[[], Awaitable[object]] | None, timeout: float | None
    ) -> Any:
        """File a slot under ``key``, run ``send``, and wait for the reply.

        The slot is filed before ``send`` runs, so a reply that comes at once is not lost.

        :raises TimeoutError: no reply within ``timeout`` seconds.
        """
        slot: Reply[Any] = Reply()
        self._slots.setdefault(key, []).append(slot)
        try:
            if send is not None:
                await send()
            return await slot.wait(timeout)
        finally:
            slots = self._slots.get(key)
            if slots is not None and slot in slots:
                slots.remove(slot)
                if not slots:
                    del self._slots[key]

    def resolve(self, key: K, value: object) -> bool:
        """Hand ``value`` to every request waiting on ``key``; False when none waits."""
        slots = self._slots.pop(key, [])
        for slot in slots:
            slot.resolve(value)
        return bool(slots)

    def fail(self, key: K, error: BaseException) -> bool:
        slots = self._slots.pop(key, [])
        for slot in slots:
            slot.fail(error)
        return bool(slots)

    def fail_all(self, error: BaseException) -> None:
        for key in list(self._slots):
            self.fail(key, error)


def _asyncio_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None  # another backend (trio): the generic path


async def wait_any(timeout: float, *events: anyio.Event) -> bool:
    """Wait until one of ``events`` is set; False when ``timeout`` passed first."""
    done = False
    with anyio.move_on_after(timeout):
        async with anyio.create_task_group() as tg:

            async def waiter(event: anyio.Event) -> None:
                await event.wait()
                tg.cancel_scope.cancel()

            for event in events:
                tg.start_soon(waiter, event)
        done = True
    return done
