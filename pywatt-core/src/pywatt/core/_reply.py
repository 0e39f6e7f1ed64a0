"""A one-shot reply slot that a reader task fills and a requester awaits (both sides)."""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

import anyio

__all__ = ["Reply", "wait_any"]

T = TypeVar("T")


class Reply(Generic[T]):
    def __init__(self) -> None:
        self._event = anyio.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def resolve(self, value: T) -> None:
        if not self._event.is_set():
            self._value = value
            self._event.set()

    def fail(self, error: BaseException) -> None:
        if not self._event.is_set():
            self._error = error
            self._event.set()

    @property
    def done(self) -> bool:
        return self._event.is_set()

    async def wait(self, timeout: float | None = None) -> T:
        """The value; ``TimeoutError`` after ``timeout`` seconds, or the error it failed with."""
        if not self._event.is_set():
            loop = _asyncio_loop() if timeout is not None else None
            if loop is not None and timeout is not None:
                # A loop timer costs far less than a cancel scope per request.
                timer = loop.call_later(timeout, self._expire)
                try:
                    await self._event.wait()
                finally:
                    timer.cancel()
            else:
                with anyio.fail_after(timeout):
                    await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def _expire(self) -> None:
        self.fail(TimeoutError("no reply in time"))


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
