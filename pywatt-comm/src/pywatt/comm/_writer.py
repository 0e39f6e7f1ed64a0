"""The frame writer of one connection: direct socket writes, a queue only under pressure.

An anyio ``send`` per frame costs a lock and an event-loop checkpoint. Here a frame goes
straight to the non-blocking socket when nothing is queued; what the socket cannot take now
is queued, in order, and one drainer writes the queue in batches when the socket is writable.
Streams that are not plain sockets (TLS, in-memory) keep every write on the drainer, which
batches them into one ``send``.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import socket
from typing import TYPE_CHECKING

import anyio
from anyio.abc import SocketAttribute, SocketStream

from pywatt.core.errors import ChannelClosedError

if TYPE_CHECKING:
    from anyio.abc import ByteStream, TaskGroup

__all__ = ["FrameWriter"]

logger = logging.getLogger("pywatt.comm.channel")

_STREAM_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)
_BATCH_MAX = 256 * 1024  # bytes joined into one write
_QUEUE_MAX = 4 * 1024 * 1024  # senders wait while more than this is queued


class FrameWriter:
    """Writes whole frames to one stream in order; never interleaves two frames."""

    def __init__(self, stream: ByteStream, name: str, task_group: TaskGroup | None = None) -> None:
        self.stream = stream
        #: Where the drainer runs; without one, the sender that queued first drains inline.
        self.task_group = task_group
        self.name = name
        self._sock: socket.socket | None = None
        self._owned = False  # a duplicate fd of our own, closed with the writer
        if isinstance(stream, SocketStream):
            # asyncio hands out a TransportSocket without send(); a duplicate of the fd
            # writes to the same socket (the transport never writes: every write is ours).
            raw = stream.extra(SocketAttribute.raw_socket)
            self._owned = not isinstance(raw, socket.socket)
            self._sock = socket.fromfd(raw.fileno(), raw.family, raw.type) if self._owned else raw
            self._sock.setblocking(False)
        self._queue: collections.deque[bytes | memoryview] = collections.deque()
        self._queued = 0
        self._draining = False
        self._drained = anyio.Event()
        self._drained.set()
        self.error: str | None = None

    async def write(self, frame: bytes) -> None:
        """Write one frame, or queue it behind the frames already waiting.

        :raises ChannelClosedError: the stream broke (now or on an earlier write).
        """
        if self.error is not None:
            raise ChannelClosedError(f"{self.name} channel write failed: {self.error}")
        if self._sock is not None and not self._queue and not self._draining:
            try:
                sent = self._sock.send(frame)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self._fail(exc)
                raise ChannelClosedError(f"{self.name} channel write failed: {exc}") from exc
            if sent == len(frame):
                return
            self._queue.append(memoryview(frame)[sent:])
            self._queued += len(frame) - sent
        else:
            self._queue.append(frame)
            self._queued += len(frame)
        if self._drained.is_set():
            self._drained = anyio.Event()
        if not self._draining:
            self._draining = True
            if self.task_group is not None:
                self.task_group.start_soon(self._drain)
            else:
                await self._drain()
        while self._queued > _QUEUE_MAX and self.error is None:
            await self._drained.wait()
        if self.error is not None and self._queued:
            raise ChannelClosedError(f"{self.name} channel write failed: {self.error}")

    async def _drain(self) -> None:
        """Write the queue until it is empty (``_draining`` is set by whoever started it)."""
        try:
            while self._queue and self.error is None:
                batch = self._take()
                try:
                    await self._send(batch)
                except _STREAM_ERRORS as exc:
                    self._fail(exc)
        finally:
            self._draining = False
            if not self._queue or self.error is not None:
                self._drained.set()

    def _take(self) -> memoryview:
        """Pop queued chunks up to the batch bound (at least one) as one buffer."""
        first = self._queue.popleft()
        if not self._queue or len(first) >= _BATCH_MAX:
            return memoryview(first)
        parts = [first]
        size = len(first)
        while self._queue and size + len(self._queue[0]) <= _BATCH_MAX:
            chunk = self._queue.popleft()
            parts.append(chunk)
            size += len(chunk)
        return memoryview(b"".join(parts))

    async def _send(self, batch: memoryview) -> None:
        sock = self._sock
        if sock is None:
            # A stream write cannot be resumed half-way, so it is not left half-done.
            with anyio.CancelScope(shield=True):
                await self.stream.send(bytes(batch))
            self._queued -= len(batch)
            return
        try:
            while batch:
                await anyio.wait_writable(sock)
                try:
                    sent = sock.send(batch)
                except BlockingIOError:
                    continue
                self._queued -= sent
                batch = batch[sent:]
        except BaseException:
            if batch:  # cancelled: the unsent rest goes back first, so order holds
                self._queue.appendleft(batch)
            raise

    def close(self) -> None:
        """Release the duplicated fd (the stream's own socket is closed by its owner)."""
        self.error = self.error or "closed"
        self._queue.clear()
        self._queued = 0
        self._drained.set()
        if self._sock is not None and self._owned:
            anyio.notify_closing(self._sock)  # wakes a drainer waiting for writability
            self._sock.close()

    def _fail(self, exc: BaseException) -> None:
        """Drop what is queued; the reader sees the broken stream and redials."""
        self.error = str(exc) or type(exc).__name__
        logger.warning("%s channel: write failed: %s", self.name, self.error)
        self._queue.clear()
        self._queued = 0
        self._drained.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
