"""Binding a listener before the module announces it, and serving an ASGI app on it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

from pywatt.core.errors import ServerError
from pywatt.core.listen import bind_listener, listener_address

if TYPE_CHECKING:
    import anyio
    import uvicorn

    from pywatt.server._types import ASGIApp

__all__ = ["bind_listener", "listener_address", "serve_asgi"]

logger = logging.getLogger("pywatt.server")


async def serve_asgi(
    app: ASGIApp, sock: socket.socket, *, stop: anyio.Event, drain_timeout: float = 10.0
) -> None:
    """Serve ``app`` with uvicorn on ``sock`` until ``stop`` is set, then drain and return.

    On ``stop`` uvicorn closes the listener (new connections are refused), lets requests in
    flight finish for up to ``drain_timeout`` seconds, then cancels what is left. The lifespan
    stays with the caller, uvicorn logs through the ``uvicorn.*`` loggers only (stderr, never
    stdout), and signals stay with the runtime.
    """
    import uvicorn

    if not drain_timeout >= 0:
        raise ServerError(f"drain_timeout must be >= 0 seconds, not {drain_timeout!r}")
    where = listener_address(sock)
    path = where if sock.family == socket.AF_UNIX else None
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        interface="asgi3",
        server_header=False,
        # Annotated int, but uvicorn hands it to asyncio.wait_for, which takes seconds as float.
        timeout_graceful_shutdown=cast(int, drain_timeout),
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


def _quiet_server(config: uvicorn.Config) -> uvicorn.Server:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """A uvicorn server that leaves signal handling to the module runtime."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer(config)
