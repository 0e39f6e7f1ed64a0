"""Byte sources and sinks for the control channel: real file descriptors or memory.

Pipes, sockets and terminals are read and written on the event loop with non-blocking I/O:
no thread hop per chunk. A descriptor the loop cannot poll (a regular file, ``/dev/null``)
falls back to a thread. End of input is also watched from a thread (``POLLHUP``), so the exit
deadline is armed even when user code blocks the event loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import select
import threading
from collections.abc import Callable
from typing import Protocol

import anyio
import anyio.from_thread
import anyio.lowlevel
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from anyio.streams.memory import MemoryObjectSendStream

__all__ = [
    "ByteSink",
    "ByteSource",
    "FdSink",
    "FdSource",
    "LineWriter",
    "MemorySink",
    "MemorySource",
]

_CHUNK = 1 << 16
_MAX_QUEUED = 16
#: Batches up to this size are joined into one write; larger lines are written as they are.
_COALESCE_MAX = 1 << 20
#: Senders wait while this much is queued for a slow reader.
_QUEUE_MAX = 64 << 20
_HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL | getattr(select, "POLLRDHUP", 0)


class ByteSource(Protocol):
    async def receive(self) -> bytes:
        """The next chunk; ``b""`` at EOF."""
        ...


class ByteSink(Protocol):
    async def write(self, data: bytes | bytearray) -> None: ...

    def write_nowait(self, data: bytes | bytearray | memoryview) -> int:
        """Write what can be written without waiting; returns how many bytes that was."""
        ...


def _pollable(fd: int) -> bool:
    """Whether the event loop can wait on ``fd`` (epoll refuses regular files).

    A terminal could be polled, but it must stay blocking: the flag is shared with the shell
    that started us, and a non-blocking terminal breaks the shell after we exit.
    """
    try:
        if os.isatty(fd):
            return False
    except OSError:
        return False
    try:
        poller = select.epoll()
    except (AttributeError, OSError):
        return False
    try:
        poller.register(fd, select.EPOLLIN | select.EPOLLOUT)
    except OSError:
        return False
    finally:
        poller.close()
    return True


def _watch_hangup(fd: int, on_eof: Callable[[], object]) -> None:
    poller = select.poll()
    poller.register(fd, _HANGUP)
    while True:
        try:
            events = poller.poll()
        except OSError:
            return
        if any(mask & _HANGUP for _, mask in events):
            on_eof()
            return


class FdSource:
    """Reads a file descriptor on the event loop (or a daemon thread when it cannot)."""

    def __init__(self, fd: int, *, on_eof: Callable[[], object] | None = None) -> None:
        self._fd = fd
        self._on_eof = on_eof
        self._thread: _ThreadSource | None = None
        self._started = False
        self._eof = False
        # asyncio: one reader registration for the life of the source, filling this queue.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._chunks: collections.deque[bytes] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._consumer: Callable[[bytes], None] | None = None

    def _start(self) -> None:
        self._started = True
        if not _pollable(self._fd):
            self._thread = _ThreadSource(self._fd, self._on_eof)
            return
        os.set_blocking(self._fd, False)
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None  # another backend: anyio.wait_readable per read
        else:
            self._loop.add_reader(self._fd, self._on_readable)
        if self._on_eof is not None:
            # Runs on its own thread, so it fires even when the event loop is stuck.
            threading.Thread(
                target=_watch_hangup,
                args=(self._fd, self._on_eof),
                name="pywatt-stdin-hangup",
                daemon=True,
            ).start()

    def close(self) -> None:
        """Stop reading and give the descriptor back blocking, as the process had it."""
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop = None
        if self._started and self._thread is None:
            with contextlib.suppress(OSError):
                os.set_blocking(self._fd, True)

    def attach(self, consumer: Callable[[bytes], None]) -> bool:
        """Hand every chunk to ``consumer`` from the loop's reader callback, ``b""`` at EOF.

        The reader then dispatches in the same loop iteration that read the bytes: a reply
        wakes its requester one iteration sooner than through ``receive``. Returns False,
        and changes nothing, where the source is read on a thread or off asyncio.
        """
        if not self._started:
            self._start()
        if self._loop is None:
            return False
        queued, self._chunks = self._chunks, collections.deque()
        self._consumer = consumer
        for chunk in queued:
            consumer(chunk)
            if not chunk:
                return True
        if self._eof:
            return True
        if self._paused:
            self._paused = False
            self._loop.add_reader(self._fd, self._on_readable)
        return True

    def pause(self) -> None:
        """Stop reading until :meth:`resume`: an attached consumer that lags holds the writer."""
        if self._consumer is not None and self._loop is not None and not self._paused:
            if not self._eof:
                self._loop.remove_reader(self._fd)
            self._paused = True

    def resume(self) -> None:
        if self._consumer is not None and self._loop is not None and self._paused:
            self._paused = False
            if not self._eof:
                self._loop.add_reader(self._fd, self._on_readable)

    def _on_readable(self) -> None:
        try:
            chunk = os.read(self._fd, _CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if self._consumer is not None:
            if not chunk:
                self._eof = True
                assert self._loop is not None
                self._loop.remove_reader(self._fd)
            self._consumer(chunk)
            return
        self._chunks.append(chunk)
        if not chunk or len(self._chunks) >= _MAX_QUEUED:
            # EOF, or a reader that lags: stop reading until it catches up.
            assert self._loop is not None
            self._loop.remove_reader(self._fd)
            self._paused = bool(chunk)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def receive(self) -> bytes:
        if not self._started:
            self._start()
        if self._thread is not None:
            return await self._thread.receive()
        if self._loop is not None:
            return await self._receive_queued(self._loop)
        if self._eof:
            return b""
        while True:
            try:
                chunk = os.read(self._fd, _CHUNK)
            except BlockingIOError:
                await anyio.wait_readable(self._fd)
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self._eof = True
            return chunk

    async def _receive_queued(self, loop: asyncio.AbstractEventLoop) -> bytes:
        while not self._chunks:
            if self._eof:
                return b""
            self._waiter = loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunk = self._chunks.popleft()
        if not chunk:
            self._eof = True
        elif self._paused and len(self._chunks) < _MAX_QUEUED // 2:
            self._paused = False
            loop.add_reader(self._fd, self._on_readable)
        return chunk


class _ThreadSource:
    """A blocking read loop on a daemon thread: it can never keep the process alive."""

    def __init__(self, fd: int, on_eof: Callable[[], object] | None) -> None:
        self._send: ObjectSendStream[bytes]
        self._recv: ObjectReceiveStream[bytes]
        self._send, self._recv = anyio.create_memory_object_stream[bytes](16)
        token = anyio.lowlevel.current_token()
        threading.Thread(
            target=self._pump, args=(fd, on_eof, token), name="pywatt-stdin", daemon=True
        ).start()

    def _pump(
        self, fd: int, on_eof: Callable[[], object] | None, token: anyio.lowlevel.EventLoopToken
    ) -> None:
        while True:
            try:
                chunk = os.read(fd, _CHUNK)
            except OSError:
                chunk = b""
            if not chunk and on_eof is not None:
                on_eof()
            try:
                anyio.from_thread.run(self._send.send, chunk, token=token)
            except BaseException:
                return  # the loop is gone: nobody is left to read
            if not chunk:
                return

    async def receive(self) -> bytes:
        try:
            return await self._recv.receive()
        except anyio.EndOfStream:
            return b""


class FdSink:
    """Writes a file descriptor without blocking the loop: directly when it has room."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._direct: bool | None = None

    def _can_poll(self) -> bool:
        if self._direct is None:
            self._direct = _pollable(self._fd)
            if self._direct:
                os.set_blocking(self._fd, False)
        return self._direct

    def write_nowait(self, data: bytes | bytearray | memoryview) -> int:
        if not self._can_poll():
            return 0
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0

    async def write(self, data: bytes | bytearray) -> None:
        if not self._can_poll():
            await anyio.to_thread.run_sync(self._write_all, data, abandon_on_cancel=True)
            return
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd, view)
            except BlockingIOError:
                await anyio.wait_writable(self._fd)
                continue
            view = view[written:]

    def _write_all(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]


class LineWriter:
    """Lines to one sink, in order and never interleaved: the one writer of a pipe.

    With nothing queued, a short line is written at once, with no task switch; what the pipe
    cannot take now is queued for :meth:`run` (a task the owner starts), which coalesces it,
    as it does long lines. A failed write calls ``on_failed`` once and closes the writer.
    """

    def __init__(self, sink: ByteSink, on_failed: Callable[[OSError], object]) -> None:
        self._sink = sink
        self._on_failed = on_failed
        self._queue: collections.deque[bytes | bytearray | memoryview] = collections.deque()
        self._queued = 0  # bytes in the queue
        self._writing = False
        self._wake = anyio.Event()
        self._drained = anyio.Event()
        self._drained.set()
        self.closed = False
        self.failed: OSError | None = None

    async def send_line(self, line: bytes | bytearray) -> None:
        """Write ``line`` and a newline, after every line sent before it.

        Returns once the line is written or queued; waits only while too much is queued.
        """
        if self.closed:
            from pywatt.core.errors import ChannelClosedError

            raise ChannelClosedError("the line writer is closed")
        if not self._queue and not self._writing and len(line) < _COALESCE_MAX:
            data = line + b"\n"
            try:
                written = self._sink.write_nowait(data)
            except OSError as exc:
                self._fail(exc)
                return
            if written == len(data):
                return
            self._enqueue(memoryview(data)[written:])
        else:
            # Two chunks, not line + newline: a long line is never copied.
            self._enqueue(line)
            self._enqueue(b"\n")
        while self._queued > _QUEUE_MAX and not self.closed:
            await self._drained.wait()

    def _enqueue(self, chunk: bytes | bytearray | memoryview) -> None:
        self._queue.append(chunk)
        self._queued += len(chunk)
        if self._drained.is_set():
            self._drained = anyio.Event()
        self._wake.set()

    def _fail(self, exc: OSError) -> None:
        self.failed = exc
        self.closed = True
        self._queue.clear()
        self._queued = 0
        self._drained.set()
        self._on_failed(exc)

    async def run(self) -> None:
        """Write what is queued until :meth:`close`, then what is left; returns after that."""
        while True:
            while not self._queue:
                self._drained.set()
                if self.closed:
                    return
                self._wake = anyio.Event()
                await self._wake.wait()
            self._writing = True
            batch: list[bytes | bytearray | memoryview] = []
            size = 0
            # Coalesce what is queued into one write, up to a bound; long lines go alone.
            while self._queue and (not batch or size + len(self._queue[0]) <= _COALESCE_MAX):
                chunk = self._queue.popleft()
                batch.append(chunk)
                size += len(chunk)
            try:
                if len(batch) == 1:
                    await self._sink.write(batch[0])  # type: ignore[arg-type]
                else:
                    await self._sink.write(b"".join(batch))
            except OSError as exc:
                self._fail(exc)
                return
            finally:
                self._writing = False
                self._queued -= size

    def close(self) -> None:
        """Accept no more lines; :meth:`run` writes what is queued, then returns."""
        self.closed = True
        self._wake.set()

    @property
    def pending(self) -> bool:
        """Whether lines are still queued or being written."""
        return bool(self._queue) or self._writing

    async def flush(self, timeout: float = 1.0) -> None:
        """Wait until queued lines are written (bounded, for shutdown)."""
        with anyio.move_on_after(timeout):
            while self._queue or self._writing:
                await self._drained.wait()
                if self._queue or self._writing:
                    await anyio.sleep(0)


class MemorySource:
    """A source fed from memory, for tests and in-process orchestrators."""

    def __init__(self, recv: ObjectReceiveStream[bytes]) -> None:
        self._recv = recv

    async def receive(self) -> bytes:
        try:
            return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return b""


class MemorySink:
    def __init__(self, send: MemoryObjectSendStream[bytes]) -> None:
        self._send = send

    def write_nowait(self, data: bytes | bytearray | memoryview) -> int:
        try:
            self._send.send_nowait(bytes(data))
        except anyio.WouldBlock:
            return 0
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise BrokenPipeError("peer closed the stream") from exc
        return len(data)

    async def write(self, data: bytes | bytearray) -> None:
        try:
            await self._send.send(bytes(data))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise BrokenPipeError("peer closed the stream") from exc
