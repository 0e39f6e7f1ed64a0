"""The contract between the module runtime and channel plugins (TCP, Unix socket, ...).

The runtime reads ``init.tcp_channel`` / ``init.ipc_channel``, builds a channel from the
factory registered under ``"tcp"`` / ``"unix"`` through ``pywatt_register_channels``,
connects it, and runs its receive loop with a :class:`ChannelHost` that answers what only the
runtime can answer (HTTP requests, stop). Everything channel-specific (framing, envelopes,
heartbeat acks, reconnects, routing) stays in the plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pywatt.core.serving import HttpExchangeRequest, HttpExchangeResponse

__all__ = ["ChannelFactory", "ChannelHost", "ModuleChannel"]


@runtime_checkable
class ChannelHost(Protocol):
    """What the runtime offers a channel."""

    @property
    def module_id(self) -> str:
        """The module's id from init."""
        ...

    async def handle_http(self, request: HttpExchangeRequest) -> HttpExchangeResponse:
        """Answer an ``http_request`` that arrived on the channel with the module's app."""
        ...

    def request_stop(self, reason: str) -> None:
        """Stop the whole module (a ``shutdown`` arrived on the channel)."""
        ...


@runtime_checkable
class ModuleChannel(Protocol):
    """One connection from the module to the orchestrator."""

    name: str

    async def connect(self) -> None:
        """Connect, honouring the configured timeout; raise ``ChannelError`` on failure."""
        ...

    async def run(self, host: ChannelHost) -> None:
        """Receive and handle frames until closed; reconnect on a broken connection."""
        ...

    async def aclose(self) -> None:
        """Close the connection; ``run`` returns soon after."""
        ...


#: ``factory(config, **options)`` builds a channel from ``TcpChannelConfig``/``IpcChannelConfig``.
ChannelFactory = Callable[..., Any]
