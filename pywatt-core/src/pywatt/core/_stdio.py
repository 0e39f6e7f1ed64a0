"""Byte sources and sinks for the control channel: real file descriptors or memory."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Protocol

import anyio
import anyio.from_thread
import anyio.lowlevel
from anyio.abc import ObjectReceiveStream, ObjectSendStream

__all__ = ["ByteSink", "ByteSource", "FdSink", "FdSource", "MemorySink", "MemorySource"]

_CHUNK = 1 << 16


class ByteSource(Protocol):
    async def receive(self) -> bytes:
        """The next chunk; ``b""`` at EOF."""
        ...


class ByteSink(Protocol):
    async def write(self, data: bytes | bytearray) -> None: ...


class FdSource:
    """Reads a file descriptor on a daemon thread.

    A blocked ``read`` on stdin cannot be cancelled; on a daemon thread it can never keep
    the process alive after the module decides to exit.
    """

    def __init__(self, fd: int, *, on_eof: Callable[[], object] | None = None) -> None:
        self._fd = fd
        self._on_eof = on_eof
        self._started = False
        self._send: ObjectSendStream[bytes]
        self._recv: ObjectReceiveStream[bytes]
        self._send, self._recv = anyio.create_memory_object_stream[bytes](16)

    def _start(self) -> None:
        token = anyio.lowlevel.current_token()
        thread = threading.Thread(
            target=self._pump, args=(token,), name="pywatt-stdin", daemon=True
        )
        thread.start()
        self._started = True

    def _pump(self, token: anyio.lowlevel.EventLoopToken) -> None:
        while True:
            try:
                chunk = os.read(self._fd, _CHUNK)
            except OSError:
                chunk = b""
            if not chunk and self._on_eof is not None:
                # Runs on this thread, so it fires even when the event loop is stuck.
                self._on_eof()
            try:
                anyio.from_thread.run(self._send.send, chunk, token=token)
            except Exception:
                return  # the loop is gone or the receiver closed
            if not chunk:
                return

    async def receive(self) -> bytes:
        if not self._started:
            self._start()
        try:
            return await self._recv.receive()
        except anyio.EndOfStream:
            return b""


class FdSink:
    """Writes to a file descriptor off the event loop, so a slow reader never stalls it."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    async def write(self, data: bytes | bytearray) -> None:
        await anyio.to_thread.run_sync(self._write_all, data, abandon_on_cancel=True)

    def _write_all(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]


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
    def __init__(self, send: ObjectSendStream[bytes]) -> None:
        self._send = send

    async def write(self, data: bytes | bytearray) -> None:
        try:
            await self._send.send(bytes(data))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise BrokenPipeError("peer closed the stream") from exc
