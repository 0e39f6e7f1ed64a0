"""A connected TCP or Unix socket as an anyio stream without an asyncio transport.

anyio's TCP streams sit on an asyncio transport: every read is a protocol callback, an event,
a task wake-up and a checkpoint, about three loop iterations per frame. anyio's Unix streams
read the socket, but register and unregister it with the selector for every wait (two
``epoll_ctl`` calls per frame). This stream reads and writes the non-blocking socket itself.
On asyncio, :meth:`RawSocketStream.pump` goes further: the socket stays registered and each
chunk is handed to the reader from the loop's readable callback, so a frame that arrives
costs one selector wake-up and no task wake-up at all, as with an asyncio protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from typing import Any

import anyio
from anyio.abc import SocketStream
from anyio.lowlevel import checkpoint

__all__ = ["RawSocketStream", "connect_tcp", "connect_unix"]


class RawSocketStream(SocketStream):
    """Reads try ``recv`` first and wait only when nothing is there."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        with contextlib.suppress(RuntimeError):  # not asyncio (trio): wait through anyio
            self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[None] | None = None
        self._watching = False
        self._drained = False  # the last read took less than asked: the socket was empty
        self._pumping: asyncio.Future[str] | None = None

    @property
    def _raw_socket(self) -> socket.socket:
        return self._sock

    async def receive(self, max_bytes: int = 65536) -> bytes:
        if self._drained and self._loop is not None and not self._closed:
            # A request/reply peer has sent nothing new yet: wait rather than fail a recv.
            await self._readable()
        while True:
            if self._closed:
                raise anyio.ClosedResourceError
            try:
                data = self._sock.recv(max_bytes)
            except BlockingIOError:
                await self._readable()
                continue
            except OSError as exc:
                raise anyio.BrokenResourceError from exc
            if not data:
                raise anyio.EndOfStream
            self._drained = len(data) < max_bytes
            return data

    @property
    def pumps(self) -> bool:
        """:meth:`pump` works here (the stream runs on asyncio)."""
        return self._loop is not None

    async def pump(self, on_chunk: Callable[[bytes], str | None], max_bytes: int = 65536) -> str:
        """Hand each chunk read to ``on_chunk``, called from the loop's readable callback.

        Returns the first reason ``on_chunk`` returns to stop; the stream's end or failure
        raises what :meth:`receive` would. ``on_chunk`` runs outside any task, so it must not
        block: it can set events and start tasks.
        """
        loop = self._loop
        if loop is None:
            raise RuntimeError("pump needs asyncio")
        if self._closed:
            raise anyio.ClosedResourceError
        done: asyncio.Future[str] = loop.create_future()

        def readable() -> None:
            if done.done():
                return
            try:
                data = self._sock.recv(max_bytes)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                broken = anyio.BrokenResourceError()
                broken.__cause__ = exc
                done.set_exception(broken)
                return
            if not data:
                done.set_exception(anyio.EndOfStream())
                return
            try:
                reason = on_chunk(data)
            except Exception as exc:  # raised again in the task awaiting the pump
                done.set_exception(exc)
                return
            if reason is not None:
                done.set_result(reason)

        self._unwatch()
        fd = self._sock.fileno()
        loop.add_reader(fd, readable)
        self._pumping = done
        try:
            return await done
        finally:
            self._pumping = None
            if not self._closed:
                loop.remove_reader(fd)

    async def _readable(self) -> None:
        loop = self._loop
        if loop is None:
            await anyio.wait_readable(self._sock)
            return
        if not self._watching:
            loop.add_reader(self._sock.fileno(), self._on_readable)
            self._watching = True
        waiter = self._waiter = loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def _on_readable(self) -> None:
        waiter = self._waiter
        if waiter is None:
            # Nobody is reading: stop the level-triggered wake-ups until the next wait.
            self._unwatch()
        elif not waiter.done():
            waiter.set_result(None)

    def _unwatch(self) -> None:
        if self._watching and self._loop is not None:
            self._watching = False
            self._loop.remove_reader(self._sock.fileno())

    async def send(self, item: bytes) -> None:
        view = memoryview(item)
        while view:
            if self._closed:
                raise anyio.ClosedResourceError
            try:
                sent = self._sock.send(view)
            except BlockingIOError:
                await anyio.wait_writable(self._sock)
                continue
            except OSError as exc:
                raise anyio.BrokenResourceError from exc
            view = view[sent:]

    async def send_eof(self) -> None:
        self._sock.shutdown(socket.SHUT_WR)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._unwatch()
            for waiter in (self._waiter, self._pumping):
                if waiter is not None and not waiter.done():
                    waiter.set_exception(anyio.ClosedResourceError())
            if self._pumping is not None and self._loop is not None:
                self._loop.remove_reader(self._sock.fileno())
            anyio.notify_closing(self._sock)  # wakes a writer (or a non-asyncio reader)
            self._sock.close()
        await checkpoint()


async def connect_tcp(host: str, port: int) -> RawSocketStream:
    """Connect to ``host:port`` (the first address it resolves to), with ``TCP_NODELAY``."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, kind, proto, _, address = infos[0]
    return await _connect(socket.socket(family, kind, proto), address)


async def connect_unix(path: str) -> RawSocketStream:
    """Connect to the Unix socket at ``path``."""
    return await _connect(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), path)


async def _connect(sock: socket.socket, address: tuple[Any, ...] | str) -> RawSocketStream:
    try:
        sock.setblocking(False)
        try:
            sock.connect(address)
        except (BlockingIOError, InterruptedError):
            await anyio.wait_writable(sock)
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code)) from None
        if sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return RawSocketStream(sock)
    except BaseException:
        anyio.notify_closing(sock)
        sock.close()
        raise
