"""The dev orchestrator's side of service-provider registration and discovery (§7.4).

The protocol has no way to say who is asking, so each module gets its own listener (as for
routing): whoever connects to module A's discovery port is module A. Its address reaches the
module as ``PYWATT_DISCOVERY_ADDRESS``. Providers live in memory for the orchestrator's life.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import anyio
from anyio.abc import Listener, SocketAttribute, SocketStream

from pywatt.core.errors import ProtocolError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pywatt.core.messages import ServiceProviderInfo
    from pywatt.core.orchestrator.orchestrator import Orchestrator

__all__ = ["DISCOVERY_ADDRESS_ENV", "DiscoveryRegistry"]

DISCOVERY_ADDRESS_ENV = "PYWATT_DISCOVERY_ADDRESS"


class DiscoveryRegistry:
    """In-memory providers, answered over one listener per module."""

    def __init__(self, orchestrator: Orchestrator) -> None:
        self._orch = orchestrator
        self._addresses: dict[str, str] = {}
        self._ids = itertools.count(1)
        #: Every registered provider, in registration order.
        self.providers: list[ServiceProviderInfo] = []

    async def listen(self, module_id: str) -> str:
        """The ``ip:port`` of ``module_id``'s discovery listener, opening it on first use."""
        address = self._addresses.get(module_id)
        if address is None:
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
            address = f"127.0.0.1:{listener.extra(SocketAttribute.local_port)}"
            self._addresses[module_id] = address
            self._orch._task_group.start_soon(self._serve, module_id, listener)
        return address

    async def _serve(self, module_id: str, listener: Listener[SocketStream]) -> None:
        async def serve(stream: SocketStream) -> None:
            async with stream:
                await self._read(module_id, stream)

        try:
            await listener.serve(serve)
        finally:
            await listener.aclose()

    async def _read(self, module_id: str, stream: SocketStream) -> None:
        from pywatt.core.envelope import FrameDecoder, decode_envelope, encode_frame
        from pywatt.core.envelope import frame_payload_to_json as to_json
        from pywatt.core.messages import encode

        decoder = FrameDecoder()
        while True:
            try:
                chunk = await stream.receive(65536)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                return
            try:
                frames = list(decoder.feed(chunk))
            except ProtocolError as exc:
                self._orch._report(module_id, "WARN", f"discovery connection closed: {exc}")
                return
            for fmt, data in frames:
                try:
                    reply = self.answer(
                        module_id, decode_envelope(to_json(fmt, data)).content_as_m2o()
                    )
                except ProtocolError as exc:
                    self._orch._report(module_id, "WARN", f"bad discovery frame: {exc}")
                    continue
                if reply is not None:
                    await stream.send(encode_frame(encode(reply)))

    def answer(self, module_id: str, msg: BaseModel) -> BaseModel | None:
        """The reply to one request from ``module_id``; None for anything else."""
        from pywatt.core.messages import (
            DiscoverServiceProviders,
            DiscoverServiceProvidersResponse,
            RegisterServiceProvider,
            RegisterServiceProviderResponse,
            ServiceProviderInfo,
        )

        if isinstance(msg, RegisterServiceProvider):
            provider = ServiceProviderInfo(
                provider_id=f"provider-{next(self._ids)}",
                module_id=module_id,
                service_type=msg.service_type,
                name=msg.name,
                version=msg.version,
                address=msg.address,
                metadata=msg.metadata or {},
                is_healthy=True,
            )
            self.providers.append(provider)
            self._orch._report(
                module_id, "INFO", "service provider registered", provider_id=provider.provider_id
            )
            return RegisterServiceProviderResponse(success=True, provider_id=provider.provider_id)
        if isinstance(msg, DiscoverServiceProviders):
            found = [p for p in self.providers if p.service_type == msg.service_type]
            if not msg.all_providers:
                found = [p for p in found if p.is_healthy]
            return DiscoverServiceProvidersResponse(success=True, providers=found)
        self._orch._report(module_id, "WARN", f"unexpected {msg.op!r} on the discovery port")
        return None
