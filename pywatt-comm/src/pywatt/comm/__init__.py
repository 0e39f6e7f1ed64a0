"""pywatt-comm: encoders, the TCP/Unix channels and module-to-module routing."""

from __future__ import annotations

from pywatt.comm.channel import FramedChannel
from pywatt.comm.connection import ConnectionConfig
from pywatt.comm.discovery import DiscoveryError, ServiceDiscoveryClient
from pywatt.comm.encoders import MsgpackEncoder
from pywatt.comm.http_tcp import HttpTcpClient, serve_http_over_tcp
from pywatt.comm.metrics import ChannelMetrics, HistogramSnapshot, LatencyHistogram
from pywatt.comm.reconnect import Backoff
from pywatt.comm.registration import (
    Capabilities,
    EndpointCapability,
    ModuleInfo,
    RegisteredModule,
    Registration,
    RegistrationError,
    register_module,
)
from pywatt.comm.resilience import (
    CircuitBreaker,
    CircuitOpenError,
    Failover,
    Policy,
    Retry,
    RetryBudget,
    policies_from_config,
)
from pywatt.comm.routing import REPLY_ENDPOINT, RoutedHandler, Router, router
from pywatt.comm.tcp import DEFAULT_TCP_MAX_FRAME, TcpChannel
from pywatt.comm.unix import DEFAULT_UNIX_MAX_FRAME, UnixChannel

__all__ = [
    "DEFAULT_TCP_MAX_FRAME",
    "DEFAULT_UNIX_MAX_FRAME",
    "REPLY_ENDPOINT",
    "Backoff",
    "Capabilities",
    "ChannelMetrics",
    "CircuitBreaker",
    "CircuitOpenError",
    "ConnectionConfig",
    "DiscoveryError",
    "EndpointCapability",
    "Failover",
    "FramedChannel",
    "HistogramSnapshot",
    "HttpTcpClient",
    "LatencyHistogram",
    "ModuleInfo",
    "MsgpackEncoder",
    "Policy",
    "RegisteredModule",
    "Registration",
    "RegistrationError",
    "Retry",
    "RetryBudget",
    "RoutedHandler",
    "Router",
    "ServiceDiscoveryClient",
    "TcpChannel",
    "UnixChannel",
    "policies_from_config",
    "register_module",
    "router",
    "serve_http_over_tcp",
]
