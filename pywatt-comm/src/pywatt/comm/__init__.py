"""pywatt-comm: encoders, the TCP/Unix channels and module-to-module routing."""

from __future__ import annotations

from pywatt.comm.channel import FramedChannel
from pywatt.comm.encoders import MsgpackEncoder
from pywatt.comm.metrics import ChannelMetrics, HistogramSnapshot, LatencyHistogram
from pywatt.comm.reconnect import Backoff
from pywatt.comm.routing import REPLY_ENDPOINT, RoutedHandler, Router, router
from pywatt.comm.tcp import DEFAULT_TCP_MAX_FRAME, TcpChannel
from pywatt.comm.unix import DEFAULT_UNIX_MAX_FRAME, UnixChannel

__all__ = [
    "DEFAULT_TCP_MAX_FRAME",
    "DEFAULT_UNIX_MAX_FRAME",
    "REPLY_ENDPOINT",
    "Backoff",
    "ChannelMetrics",
    "FramedChannel",
    "HistogramSnapshot",
    "LatencyHistogram",
    "MsgpackEncoder",
    "RoutedHandler",
    "Router",
    "TcpChannel",
    "UnixChannel",
    "router",
]
