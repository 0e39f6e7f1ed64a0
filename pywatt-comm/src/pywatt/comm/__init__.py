"""pywatt-comm: encoders, the TCP/Unix channels and module-to-module routing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
    from pywatt.comm.channel import FramedChannel as FramedChannel
    from pywatt.comm.connection import ConnectionConfig as ConnectionConfig
    from pywatt.comm.discovery import (
        DiscoveryError as DiscoveryError,
        ServiceDiscoveryClient as ServiceDiscoveryClient,
    )
    from pywatt.comm.encoders import MsgpackEncoder as MsgpackEncoder
    from pywatt.comm.http_tcp import (
        HttpTcpClient as HttpTcpClient,
        serve_http_over_tcp as serve_http_over_tcp,
    )
    from pywatt.comm.metrics import (
        ChannelMetrics as ChannelMetrics,
        HistogramSnapshot as HistogramSnapshot,
        LatencyHistogram as LatencyHistogram,
    )
    from pywatt.comm.reconnect import Backoff as Backoff
    from pywatt.comm.registration import (
        Capabilities as Capabilities,
        EndpointCapability as EndpointCapability,
        ModuleInfo as ModuleInfo,
        RegisteredModule as RegisteredModule,
        Registration as Registration,
        RegistrationError as RegistrationError,
        register_module as register_module,
    )
    from pywatt.comm.resilience import (
        CircuitBreaker as CircuitBreaker,
        CircuitOpenError as CircuitOpenError,
        Failover as Failover,
        Policy as Policy,
        Retry as Retry,
        RetryBudget as RetryBudget,
        policies_from_config as policies_from_config,
    )
    from pywatt.comm.routing import (
        REPLY_ENDPOINT as REPLY_ENDPOINT,
        RoutedHandler as RoutedHandler,
        Router as Router,
        router as router,
    )
    from pywatt.comm.tcp import (
        DEFAULT_TCP_MAX_FRAME as DEFAULT_TCP_MAX_FRAME,
        TcpChannel as TcpChannel,
    )
    from pywatt.comm.unix import (
        DEFAULT_UNIX_MAX_FRAME as DEFAULT_UNIX_MAX_FRAME,
        UnixChannel as UnixChannel,
    )

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "pywatt.comm.channel": "FramedChannel",
        "pywatt.comm.connection": "ConnectionConfig",
        "pywatt.comm.discovery": "DiscoveryError ServiceDiscoveryClient",
        "pywatt.comm.encoders": "MsgpackEncoder",
        "pywatt.comm.http_tcp": "HttpTcpClient serve_http_over_tcp",
        "pywatt.comm.metrics": "ChannelMetrics HistogramSnapshot LatencyHistogram",
        "pywatt.comm.reconnect": "Backoff",
        "pywatt.comm.registration": (
            "Capabilities EndpointCapability ModuleInfo register_module RegisteredModule "
            "Registration RegistrationError"
        ),
        "pywatt.comm.resilience": (
            "CircuitBreaker CircuitOpenError Failover policies_from_config Policy Retry RetryBudget"
        ),
        "pywatt.comm.routing": "REPLY_ENDPOINT RoutedHandler Router router",
        "pywatt.comm.tcp": "DEFAULT_TCP_MAX_FRAME TcpChannel",
        "pywatt.comm.unix": "DEFAULT_UNIX_MAX_FRAME UnixChannel",
    },
)
