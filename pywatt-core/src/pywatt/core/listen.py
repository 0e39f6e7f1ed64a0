"""Binding the module's HTTP listener before it announces (PROTOCOL.md §9 item 9)."""

from __future__ import annotations

import contextlib
import os
import socket
import stat

from pywatt.core.errors import ServerError

__all__ = ["bind_tcp", "bind_unix", "bound_address"]

_BACKLOG = 2048


def bind_tcp(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A listening TCP socket; port 0 lets the OS pick (read it back with bound_address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot bind {host}:{port}: {exc}") from exc
    return sock


def bind_unix(path: str) -> socket.socket:
    """A listening Unix socket at ``path``, replacing a stale socket file left behind."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot bind unix socket {path}: {exc}") from exc
    return sock


def bound_address(sock: socket.socket) -> str:
    """The address as the wire writes it: ``ip:port`` (IPv6 bracketed) or a path."""
    if sock.family == socket.AF_UNIX:
        name = sock.getsockname()
        return name if isinstance(name, str) else name.decode()
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
