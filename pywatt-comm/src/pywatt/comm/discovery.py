"""Service-provider registration and discovery (§7.4), on a connection of its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pywatt.comm.connection import ConnectionConfig, RequestConnection
from pywatt.comm.resilience import Failover, Policy
from pywatt.core.errors import ProtocolError, PyWattError
from pywatt.core.messages import (
    DiscoverServiceProviders,
    DiscoverServiceProvidersResponse,
    RegisterServiceProvider,
    RegisterServiceProviderResponse,
    ServiceProviderInfo,
    ServiceType,
    decode_o2m,
)

_T = TypeVar("_T")

__all__ = ["DiscoveryError", "ServiceDiscoveryClient"]


class DiscoveryError(PyWattError):
    """The orchestrator refused or could not answer a registration or discovery."""


class ServiceDiscoveryClient:
    """``register_service_provider`` / ``discover_service_providers`` as the Rust client does.

    Each request is an envelope with a fresh ``metadata.id``; the next frame is its reply, a
    bare orchestrator message. Given several orchestrator addresses, requests fail over to
    the next when one cannot be reached; ``policy`` wraps each request to one address.
    """

    def __init__(
        self,
        config: ConnectionConfig | Sequence[ConnectionConfig],
        *,
        policy: Policy | None = None,
    ) -> None:
        configs = [config] if isinstance(config, ConnectionConfig) else list(config)
        conns = [RequestConnection(c, "service discovery") for c in configs]
        self.failover: Failover[RequestConnection] = Failover("discovery", conns, policy)

    async def register_service_provider(
        self,
        service_type: ServiceType,
        name: str,
        address: str,
        *,
        version: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str:
        """Register this module as a provider; return the orchestrator's provider id."""
        request = RegisterServiceProvider(
            service_type=service_type,
            name=name,
            version=version,
            address=address,
            metadata=metadata,
        )
        reply = await self._ask(request, RegisterServiceProviderResponse)
        if not reply.success:
            raise DiscoveryError(reply.error or "Unknown error")
        if reply.provider_id is None:
            raise DiscoveryError("No provider ID returned")
        return reply.provider_id

    async def discover_service_providers(
        self, service_type: ServiceType, *, all_providers: bool | None = None
    ) -> list[ServiceProviderInfo]:
        """Every registered provider of ``service_type`` (healthy ones unless ``all_providers``)."""
        request = DiscoverServiceProviders(service_type=service_type, all_providers=all_providers)
        reply = await self._ask(request, DiscoverServiceProvidersResponse)
        if not reply.success:
            raise DiscoveryError(reply.error or "Unknown error")
        return reply.providers

    async def discover_service_provider(
        self, service_type: ServiceType
    ) -> ServiceProviderInfo | None:
        """The first provider of ``service_type``, or None when there is none."""
        providers = await self.discover_service_providers(service_type)
        return providers[0] if providers else None

    async def aclose(self) -> None:
        for conn in self.failover.endpoints:
            await conn.aclose()

    async def _ask(self, request: object, expected: type[_T]) -> _T:
        data = await self.failover.run(lambda conn: conn.request(request))
        try:
            reply = decode_o2m(data)
        except ProtocolError as exc:
            raise DiscoveryError(f"Invalid response from orchestrator: {exc}") from exc
        if not isinstance(reply, expected):
            raise DiscoveryError(f"Unexpected response type: {reply.op}")
        return reply
