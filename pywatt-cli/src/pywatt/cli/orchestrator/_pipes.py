"""A module's stdin and stdout pipes as the dev orchestrator drives them.

Both sit directly on the loop, as the module's own side does (``pywatt.core._stdio``): a line
to stdin is written at once while the pipe has room, and an HTTP response on stdout resolves
its request inside the loop's reader callback. That takes the task hops and checkpoints of a
generic process stream off every exchange: at concurrency 1 the orchestrator's side of HTTP
over stdio cost more CPU per request than the module's.
"""

from __future__ import annotations

import collections
import contextlib
import os
from collections.abc import Awaitable, Callable

import anyio

from pywatt.core._lines import DEFAULT_MAX_LINE, Line, LineSplitter, OversizedLine
from pywatt.core._stdio import FdSink, FdSource, LineWriter
from pywatt.core.errors import ChannelClosedError

__all__ = ["StdinPipe", "StdoutPipe"]

#: Lines waiting for the reader task before the pipe is left unread (the module then blocks).
_BACKLOG_MAX = 64


class StdinPipe:
    """The module's stdin: one :class:`LineWriter`, whose task closes the pipe when done."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._writer = LineWriter(FdSink(fd), lambda exc: None)

    async def run(self) -> None:
        """The writer task: writes what could not go out at once; closes the pipe after."""
        try:
            await self._writer.run()
        finally:
            os.close(self._fd)

    async def send_line(self, line: bytes | bytearray) -> None:
        """Write one line; raises ``OSError`` once the module stopped reading, or when closed."""
        if self._writer.failed is not None:
            raise self._writer.failed
        try:
            await self._writer.send_line(line)
        except ChannelClosedError as exc:
            raise anyio.ClosedResourceError from exc
        if self._writer.failed is not None:
            raise self._writer.failed

    def close(self) -> None:
        """Send what is queued, then close the pipe (the module sees EOF)."""
        self._writer.close()

    async def aclose(self) -> None:
        self.close()


class StdoutPipe:
    """The module's stdout, split into lines.

    ``resolve_now`` sees each line first, in the loop's reader callback, and takes the ones it
    can finish without waiting (HTTP responses). Every other line goes, in order, to
    ``handle_line`` on the reader task, and once one waits there, so do all after it.
    """

    def __init__(
        self,
        fd: int,
        resolve_now: Callable[[Line], bool],
        handle_line: Callable[[Line | OversizedLine], Awaitable[object]],
    ) -> None:
        self._fd = fd
        self._source = FdSource(fd)
        self._lines = LineSplitter(DEFAULT_MAX_LINE)
        self._resolve_now = resolve_now
        self._handle_line = handle_line
        self._backlog: collections.deque[Line | OversizedLine] = collections.deque()
        self._wake = anyio.Event()
        self._eof = False

    def _on_chunk(self, chunk: bytes) -> None:
        if not chunk:
            self._eof = True
            self._wake.set()
            return
        backlog = self._backlog
        for line in self._lines.feed(chunk):
            if backlog or isinstance(line, OversizedLine) or not self._resolve_now(line):
                backlog.append(line)
        if backlog:
            if len(backlog) >= _BACKLOG_MAX:
                self._source.pause()
            self._wake.set()

    async def run(self) -> None:
        """The reader task: hands on the lines left to it until EOF; closes the pipe after."""
        try:
            attached = self._source.attach(self._on_chunk)
            backlog = self._backlog
            while True:
                while not backlog:
                    if self._eof:
                        return
                    if attached:
                        self._wake = anyio.Event()
                        await self._wake.wait()
                    else:  # read on a thread or off asyncio: no reader callback
                        self._on_chunk(await self._source.receive())
                line = backlog.popleft()
                if len(backlog) < _BACKLOG_MAX // 2:
                    self._source.resume()
                await self._handle_line(line)
        finally:
            self._source.close()
            with contextlib.suppress(OSError):
                os.close(self._fd)
