"""A connected TCP or Unix socket as an anyio stream without an asyncio transport.

anyio's TCP streams sit on an asyncio transport: every read is a protocol callback, an event,
a task wake-up and a checkpoint, about three loop iterations per frame. anyio's Unix streams
read the socket, but register and unregister it with the selector for every wait (two
``epoll_ctl`` calls per frame). This stream reads and writes the non-blocking socket itself,
and on asyncio keeps the socket registered while a reader keeps waiting on it, so a frame
that arrives costs one selector wake-up and one task step.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
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

    @property
    def _raw_socket(self) -> socket.socket:
        return self._sock

    async def receive(self, max_bytes: int = 65536) -> bytes:
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
            return data

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
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(anyio.ClosedResourceError())
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
