"""Binding a listener before the module announces it, and serving an ASGI app on it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from pywatt.core.errors import ServerError
from pywatt.core.listen import bind_listener, listener_address
from pywatt.core.serving import SocketLimits

if TYPE_CHECKING:
    import anyio
    import uvicorn

    from pywatt.server._types import ASGIApp

__all__ = ["bind_listener", "listener_address", "serve_asgi"]

logger = logging.getLogger("pywatt.server")


async def serve_asgi(
    app: ASGIApp,
    sock: socket.socket,
    *,
    stop: anyio.Event,
    drain_timeout: float = 10.0,
    limits: SocketLimits | None = None,
) -> None:
    """Serve ``app`` with uvicorn on ``sock`` until ``stop`` is set, then drain and return.

    On ``stop`` uvicorn closes the listener (new connections are refused) and idle
    connections, lets requests in flight and their background tasks finish for
    ``drain_timeout`` seconds, then cancels what is left. The lifespan stays with the caller,
    uvicorn logs through the ``uvicorn.*`` loggers only (stderr, never stdout), and signals
    stay with the runtime.
    """
    import uvicorn

    limits = limits or SocketLimits()
    header_timeout, limit_concurrency = limits.header_timeout, limits.limit_concurrency
    for name, seconds in {
        "drain_timeout": drain_timeout,
        "keep_alive_timeout": limits.keep_alive_timeout,
    }.items():
        if not seconds >= 0:
            raise ServerError(f"{name} must be >= 0 seconds, not {seconds!r}")
    if header_timeout is not None and not header_timeout > 0:
        raise ServerError(f"header_timeout must be > 0 seconds or None, not {header_timeout!r}")
    if limit_concurrency is not None and limit_concurrency < 1:
        raise ServerError(f"limit_concurrency must be >= 1, not {limit_concurrency!r}")
    where = listener_address(sock)
    path = where if sock.family == socket.AF_UNIX else None
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        interface="asgi3",
        server_header=False,
        # Annotated int, but uvicorn hands these to asyncio, which takes seconds as float.
        timeout_graceful_shutdown=cast(int, drain_timeout),
        timeout_keep_alive=cast(int, limits.keep_alive_timeout),
        # uvicorn counts the connection asking among the open ones, so N + 1 serves N.
        limit_concurrency=None if limit_concurrency is None else limit_concurrency + 1,
    )
    config.load()
    if header_timeout is not None:
        config.http_protocol_class = _with_header_timeout(
            config.http_protocol_class, header_timeout
        )
    server = _quiet_server(config)

    async def watch() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.ensure_future(watch())
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:  # uvicorn exits the process when it cannot start
        raise ServerError(f"uvicorn could not serve on {where}") from exc
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        sock.close()
        if path:
            with contextlib.suppress(OSError):
                os.unlink(path)
    if not server.started:
        raise ServerError(f"uvicorn did not start on {where}")


#: Sent when a client started a request but did not finish its headers in time.
_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 15\r\nconnection: close\r\n\r\nRequest Timeout"
)


def _with_header_timeout(base: Any, seconds: float) -> Any:
    """uvicorn's HTTP protocol (h11 or httptools) with a deadline on reading request headers.

    uvicorn has a keep-alive timeout, but nothing bounds a client that connects and never
    finishes its headers (slowloris). The deadline starts when the connection is made, and
    again at the first byte of each later request; it ends when the protocol has parsed the
    headers, which both of uvicorn's protocols mark by starting a new request cycle. Then the
    connection is closed, with a 408 if part of a request had arrived.
    """

    class HeaderTimeoutProtocol(base):  # type: ignore[misc]
        _header_timer: asyncio.TimerHandle | None = None
        _awaited_cycle: object = None
        _partial = False

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm_header_timer()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
                self._arm_header_timer()  # the first byte of the next request
            self._partial = True
            super().data_received(data)
            if self._header_timer is not None and self.cycle is not self._awaited_cycle:
                self._disarm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            super().connection_lost(exc)

        def _arm_header_timer(self) -> None:
            self._awaited_cycle = self.cycle
            self._partial = False
            self._header_timer = self.loop.call_later(seconds, self._header_timeout)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _header_timeout(self) -> None:
            self._header_timer = None
            transport = self.transport
            # Gone to a WebSocket protocol after an upgrade, or already closing: not ours.
            if transport.get_protocol() is not self or transport.is_closing():
                return
            logger.debug("closing a connection that sent no complete headers in %s s", seconds)
            if self._partial:
                transport.write(_REQUEST_TIMEOUT)
            transport.close()

    return HeaderTimeoutProtocol


def _quiet_server(config: uvicorn.Config) -> uvicorn.Server:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """A uvicorn server that leaves signal handling to the module runtime."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer(config)
