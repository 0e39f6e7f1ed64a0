"""pywatt-comm: encoders, the TCP/Unix channels and module-to-module routing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
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

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
_LAZY: dict[str, str] = {
    "FramedChannel": "pywatt.comm.channel",
    "ConnectionConfig": "pywatt.comm.connection",
    "DiscoveryError": "pywatt.comm.discovery",
    "ServiceDiscoveryClient": "pywatt.comm.discovery",
    "MsgpackEncoder": "pywatt.comm.encoders",
    "HttpTcpClient": "pywatt.comm.http_tcp",
    "serve_http_over_tcp": "pywatt.comm.http_tcp",
    "ChannelMetrics": "pywatt.comm.metrics",
    "HistogramSnapshot": "pywatt.comm.metrics",
    "LatencyHistogram": "pywatt.comm.metrics",
    "Backoff": "pywatt.comm.reconnect",
    "Capabilities": "pywatt.comm.registration",
    "EndpointCapability": "pywatt.comm.registration",
    "ModuleInfo": "pywatt.comm.registration",
    "RegisteredModule": "pywatt.comm.registration",
    "Registration": "pywatt.comm.registration",
    "RegistrationError": "pywatt.comm.registration",
    "register_module": "pywatt.comm.registration",
    "CircuitBreaker": "pywatt.comm.resilience",
    "CircuitOpenError": "pywatt.comm.resilience",
    "Failover": "pywatt.comm.resilience",
    "Policy": "pywatt.comm.resilience",
    "Retry": "pywatt.comm.resilience",
    "RetryBudget": "pywatt.comm.resilience",
    "policies_from_config": "pywatt.comm.resilience",
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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
