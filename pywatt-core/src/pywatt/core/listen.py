"""Binding the module's HTTP listener before it announces (PROTOCOL.md §9 item 9)."""

from __future__ import annotations

import contextlib
import os
import socket
import stat

from pywatt.core.errors import ServerError

__all__ = ["bind_listener", "listener_address"]

_BACKLOG = 2048


def bind_listener(host_or_path: str, port: int | None) -> socket.socket:
    """A listening socket: TCP on ``host:port`` (port 0 lets the OS pick), or a Unix socket.

    ``port=None`` means ``host_or_path`` is a Unix socket path; a stale socket file left by a
    dead process is removed first, but a live one or any other kind of file is an error. The
    socket listens before this returns, so the caller may announce the address at once.
    """
    if port is None:
        return _bind_unix(host_or_path)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ServerError(f"invalid port {port!r}: expected an integer in 0..65535")
    family = socket.AF_INET6 if ":" in host_or_path else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it Nagle's algorithm adds ~40 ms to every small response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host_or_path, port))
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen on {host_or_path}:{port}: {exc}") from exc
    return sock


def _bind_unix(path: str) -> socket.socket:
    if not path:
        raise ServerError("a Unix socket path must not be empty")
    with contextlib.suppress(FileNotFoundError):
        mode = os.stat(path).st_mode
        if not stat.S_ISSOCK(mode):
            raise ServerError(f"cannot listen on {path}: it exists and is not a socket")
        if _unix_alive(path):
            raise ServerError(f"cannot listen on {path}: another process is listening there")
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen on {path}: {exc}") from exc
    return sock


def _unix_alive(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True


def listener_address(sock: socket.socket) -> str:
    """The address to announce: ``host:port`` read back from the socket, or the Unix path."""
    name = sock.getsockname()
    if sock.family == socket.AF_UNIX:
        return str(name)
    host, port = name[0], name[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
