"""Drives the ASGI lifespan protocol for an app, independent of any server.

The runner keeps the lifespan itself (uvicorn runs with ``lifespan="off"``) so that the IPC
path and the socket share one startup and one shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pywatt.core.errors import ServerError
from pywatt.server._types import ASGIApp, Message

logger = logging.getLogger("pywatt.server")


class Lifespan:
    """One lifespan conversation with one app: ``startup()`` then ``shutdown()``."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self._app = app
        self._state = state
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._answered = asyncio.Event()
        self._answer: Message | None = None
        self._task: asyncio.Task[None] | None = None
        self._error: Exception | None = None
        self.supported = False

    async def startup(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self._state,
        }
        self._task = asyncio.get_running_loop().create_task(self._run(scope))
        answer = await self._ask({"type": "lifespan.startup"})
        if answer is None:
            # Apps that raise on (or ignore) the lifespan scope do not support it; uvicorn's
            # "auto" mode treats them the same way.
            logger.debug("app does not support the ASGI lifespan: %r", self._error)
            return
        if answer["type"] == "lifespan.startup.failed":
            await self._finish()
            raise ServerError(f"app startup failed: {_summary(answer)}") from self._error
        if answer["type"] != "lifespan.startup.complete":
            await self._finish()
            raise ServerError(f"app answered lifespan startup with {answer['type']!r}")
        self.supported = True

    async def shutdown(self) -> None:
        if not self.supported:
            await self._finish()
            return
        self.supported = False
        answer = await self._ask({"type": "lifespan.shutdown"})
        await self._finish()
        if answer is None and self._error is not None:
            raise ServerError(f"app failed during lifespan shutdown: {self._error!r}")
        if answer is not None and answer["type"] == "lifespan.shutdown.failed":
            raise ServerError(f"app shutdown failed: {_summary(answer)}") from self._error

    async def _ask(self, message: Message) -> Message | None:
        """Send one event and wait for the app's reply, or for the app to end without one."""
        self._answered.clear()
        self._answer = None
        if self._task is None or self._task.done():
            return None
        await self._inbox.put(message)
        await self._answered.wait()
        return self._answer

    async def _finish(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, scope: dict[str, Any]) -> None:
        try:
            await self._app(scope, self._inbox.get, self._reply)
        except Exception as exc:
            self._error = exc
        finally:
            self._answered.set()

    async def _reply(self, message: Message) -> None:
        self._answer = message
        self._answered.set()


def _summary(answer: Message) -> str:
    """The last line of a failure message: Starlette sends a whole traceback there."""
    lines = str(answer.get("message") or "").strip().splitlines()
    return lines[-1] if lines else "no reason given"
