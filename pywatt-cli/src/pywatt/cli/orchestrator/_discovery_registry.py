"""The dev orchestrator's side of module registration (§7.2) and provider discovery (§7.4).

The protocol has no way to say who is asking, so each module gets its own listener (as for
routing): whoever connects to module A's discovery port is module A. Its address reaches the
module as ``PYWATT_DISCOVERY_ADDRESS``. Providers live in memory for the orchestrator's life.

Each §7.2 registration gets a listener of its own for HTTP over TCP (§5.4): its port is the
``orchestrator_port`` of the ``RegisteredModule``, so whoever dials it is that module, and
:meth:`DiscoveryRegistry.http_over_tcp` sends requests there.
"""

from __future__ import annotations

import collections
import itertools
import json
import secrets
import uuid
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import Listener, SocketAttribute, SocketStream

from pywatt.cli.orchestrator._frames import incoming_frames
from pywatt.cli.orchestrator.errors import ModuleUnavailable
from pywatt.core.errors import ProtocolError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pywatt.cli.orchestrator.orchestrator import Orchestrator
    from pywatt.core.messages import ServiceProviderInfo

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
        #: §7.2 registrations by module uuid: the ``RegisteredModule`` plus what it sent since.
        self.registered: dict[str, dict[str, Any]] = {}
        self._http: dict[str, _HttpOverTcp] = {}
        self._http_up: dict[str, anyio.Event] = {}
        self._http_scopes: dict[str, anyio.CancelScope] = {}

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
        from pywatt.core.envelope import (
            decode_envelope,
            encode_frame,
            frame_payload_to_json as to_json,
        )
        from pywatt.core.messages import encode

        try:
            async with incoming_frames(stream) as frames:
                async for fmt, data in frames:
                    try:
                        envelope = decode_envelope(to_json(fmt, data))
                        content = envelope.content
                        if isinstance(content, dict) and "request_type" in content:
                            body = json.dumps(await self.register(content)).encode()
                        else:
                            reply = self.answer(module_id, envelope.content_as_m2o())
                            body = b"" if reply is None else encode(reply)
                    except ProtocolError as exc:
                        self._orch._report(module_id, "WARN", f"bad discovery frame: {exc}")
                        continue
                    if body:
                        await stream.send(encode_frame(body))
        except ProtocolError as exc:
            self._orch._report(module_id, "WARN", f"discovery connection closed: {exc}")

    async def register(self, request: dict[str, Any]) -> dict[str, Any]:
        """The bare reply to one §7.2 request."""
        kind = request.get("request_type")
        reply: dict[str, Any] = {"response_type": kind, "success": True}
        if kind == "register":
            info = request.get("module_info") or {}
            new_id = str(uuid.uuid4())
            port = await self._http_listen(new_id)
            module = {"info": info, "id": new_id, "token": secrets.token_hex(16),
                      "orchestrator_host": "127.0.0.1", "orchestrator_port": port}  # fmt: skip
            self.registered[new_id] = {"module": module, "heartbeats": 0}
            self._orch._report(str(info.get("name")), "INFO", "module registered", id=new_id)
            return {**reply, "module": module}
        entry = self.registered.get(str(request.get("module_id")))
        if entry is None or entry["module"]["token"] != request.get("token"):
            return {**reply, "success": False, "error": "Unknown module or bad token"}
        if kind == "heartbeat":
            entry["heartbeats"] += 1
            entry["status"] = request.get("status")
            return {**reply, "status": "Healthy"}
        if kind == "capabilities":
            entry["capabilities"] = request.get("capabilities")
            return reply
        if kind == "unregister":
            del self.registered[entry["module"]["id"]]
            scope = self._http_scopes.pop(entry["module"]["id"], None)
            if scope is not None:
                scope.cancel()  # its listener closes there: closing it under serve() would raise
            return reply
        return {**reply, "success": False, "error": f"unknown request_type {kind!r}"}

    # -- HTTP over TCP (§5.4) ---------------------------------------------------------------

    async def _http_listen(self, module_uuid: str) -> int:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self._http_up[module_uuid] = anyio.Event()
        self._http_scopes[module_uuid] = anyio.CancelScope()
        self._orch._task_group.start_soon(self._serve_http, module_uuid, listener)
        port: int = listener.extra(SocketAttribute.local_port)
        return port

    async def _serve_http(self, module_uuid: str, listener: Listener[SocketStream]) -> None:
        async def serve(stream: SocketStream) -> None:
            conn = _HttpOverTcp(stream)
            old, self._http[module_uuid] = self._http.get(module_uuid), conn
            self._http_up[module_uuid].set()
            if old is not None:
                old.closed.set()
            async with stream:
                await conn.closed.wait()

        try:
            with self._http_scopes[module_uuid]:
                await listener.serve(serve)
        finally:
            await listener.aclose()
            conn = self._http.pop(module_uuid, None)
            if conn is not None:
                conn.closed.set()

    async def http_over_tcp(
        self,
        module: str,
        method: str,
        uri: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        *,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Send one request to a registered module (its uuid or its ``info.name``) over the
        connection it dialled (§5.4); return the ``HttpTcpResponse`` content (``body`` as
        bytes). Requests on one connection are serialized: the next frame is the response."""
        key = next(
            (
                k
                for k, e in self.registered.items()
                if module in (k, e["module"]["info"].get("name"))
            ),
            None,
        )
        if key is None:
            raise ProtocolError(f"no module {module!r} is registered")
        content: dict[str, Any] = {"request_id": str(uuid.uuid4()), "method": method,
                                   "uri": uri, "headers": headers or {}}  # fmt: skip
        if body is not None:
            content["body"] = list(body)
        with anyio.fail_after(timeout):
            await self._http_up[key].wait()
            response = await self._http[key].request(content)
        if response.get("body") is not None:
            response["body"] = bytes(response["body"])
        return response

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
        self._orch._report(
            module_id, "WARN", f"unexpected {getattr(msg, 'op', '?')!r} on the discovery port"
        )
        return None


class _HttpOverTcp:
    """The connection a registered module dialled to serve HTTP over TCP."""

    def __init__(self, stream: SocketStream) -> None:
        from pywatt.core.envelope import FrameDecoder

        self.stream = stream
        self.closed = anyio.Event()
        self._lock = anyio.Lock()
        self._decoder = FrameDecoder()
        self._frames: collections.deque[tuple[Any, bytes]] = collections.deque()

    async def request(self, content: dict[str, Any]) -> dict[str, Any]:
        from pywatt.core.envelope import (
            decode_envelope,
            encode_envelope,
            encode_frame,
            frame_payload_to_json as to_json,
        )

        async with self._lock:
            try:
                await self.stream.send(encode_frame(encode_envelope(content)))
                while not self._frames:
                    self._frames.extend(self._decoder.feed(await self.stream.receive()))
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
                raise ModuleUnavailable(f"HTTP-over-TCP connection lost: {exc!r}") from exc
            fmt, data = self._frames.popleft()
        response = decode_envelope(to_json(fmt, data)).content
        if not isinstance(response, dict):
            raise ProtocolError(f"HTTP-over-TCP response is not an object: {response!r}")
        return response
