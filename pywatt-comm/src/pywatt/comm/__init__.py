"""pywatt-comm: encoders, the TCP/Unix channels and module-to-module routing."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pywatt.comm.channel import FramedChannel
    from pywatt.comm.encoders import MsgpackEncoder
    from pywatt.comm.reconnect import Backoff
    from pywatt.comm.routing import REPLY_ENDPOINT, RoutedHandler, Router, router
    from pywatt.comm.tcp import DEFAULT_TCP_MAX_FRAME, TcpChannel
    from pywatt.comm.unix import DEFAULT_UNIX_MAX_FRAME, UnixChannel

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
_LAZY: dict[str, str] = {
    "FramedChannel": "pywatt.comm.channel",
    "MsgpackEncoder": "pywatt.comm.encoders",
    "Backoff": "pywatt.comm.reconnect",
    "REPLY_ENDPOINT": "pywatt.comm.routing",
    "RoutedHandler": "pywatt.comm.routing",
    "Router": "pywatt.comm.routing",
    "router": "pywatt.comm.routing",
    "DEFAULT_TCP_MAX_FRAME": "pywatt.comm.tcp",
    "TcpChannel": "pywatt.comm.tcp",
    "DEFAULT_UNIX_MAX_FRAME": "pywatt.comm.unix",
    "UnixChannel": "pywatt.comm.unix",
}

__all__ = [
    "DEFAULT_TCP_MAX_FRAME",
    "DEFAULT_UNIX_MAX_FRAME",
    "REPLY_ENDPOINT",
    "Backoff",
    "FramedChannel",
    "MsgpackEncoder",
    "RoutedHandler",
    "Router",
    "TcpChannel",
    "UnixChannel",
    "router",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
