"""Module-to-module routing over per-module TCP channels (§4, §7.5).

The protocol never identifies a TCP connection, so each module gets its own listener: whoever
connects to module A's port is module A. A module spawned with ``tcp_channel_tls`` gets a
listener that completes a TLS handshake (with the orchestrator's certificate secrets) before
it reads a frame; a client that fails it, plaintext or with a bad certificate, is refused.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

import anyio
from anyio.abc import ByteStream, Listener, SocketAttribute, SocketStream
from anyio.streams.tls import TLSStream

from pywatt.cli.orchestrator._frames import incoming_frames
from pywatt.core.errors import ConfigError, ProtocolError, UnknownOpError
from pywatt.core.messages import REPLY_ENDPOINT

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pywatt.cli.orchestrator.handle import ModuleHandle
    from pywatt.cli.orchestrator.orchestrator import Orchestrator
    from pywatt.core.messages import RouteToModule

__all__ = ["ChannelRouter"]


class ChannelRouter:
    def __init__(self, orchestrator: Orchestrator) -> None:
        self._orch = orchestrator
        self._listeners: dict[str, tuple[Listener[SocketStream], str]] = {}
        self._connections: dict[str, ByteStream] = {}
        self._connected: dict[str, anyio.Event] = {}
        self._contexts: dict[str, ssl.SSLContext] = {}

    async def listen(self, handle: ModuleHandle) -> str:
        """The ``ip:port`` of ``handle``'s own listener, opening it on first use."""
        existing = self._listeners.get(handle.module_id)
        if existing is not None:
            return existing[1]
        if handle.spec.tcp_channel_tls is not None:
            self._context(handle.spec.tcp_channel_tls)  # missing certificates fail the launch
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        address = f"127.0.0.1:{listener.extra(SocketAttribute.local_port)}"
        self._listeners[handle.module_id] = (listener, address)
        self._connected[handle.module_id] = anyio.Event()
        self._orch._task_group.start_soon(self._accept, handle, listener)
        return address

    async def wait_connected(self, module_id: str, timeout: float) -> None:
        event = self._connected.get(module_id)
        if event is None:
            raise ProtocolError(f"module {module_id!r} has no TCP channel")
        with anyio.fail_after(timeout):
            await event.wait()

    def _context(self, mode: str) -> ssl.SSLContext:
        """The listener's TLS context from the secrets; ``mtls`` also checks client certs."""
        from pywatt.core.tls import (
            TLS_CA_SECRET,
            TLS_SERVER_CERT_SECRET,
            TLS_SERVER_KEY_SECRET,
            server_context,
        )

        context = self._contexts.get(mode)
        if context is None:
            names = [TLS_SERVER_CERT_SECRET, TLS_SERVER_KEY_SECRET]
            names += [TLS_CA_SECRET] if mode == "mtls" else []
            values = {name: self._orch.secrets.get(name) for name in names}
            missing = [name for name, value in values.items() if value is None]
            if missing:
                raise ConfigError(f"a {mode} channel needs the secrets {', '.join(missing)}")
            cert, key = values[TLS_SERVER_CERT_SECRET], values[TLS_SERVER_KEY_SECRET]
            assert cert is not None
            context = server_context(cert, key, values.get(TLS_CA_SECRET))
            self._contexts[mode] = context
        return context

    async def _handshake(self, handle: ModuleHandle, stream: SocketStream) -> ByteStream | None:
        mode = handle.spec.tcp_channel_tls
        if mode is None:
            return stream
        try:
            with anyio.fail_after(30):
                return await TLSStream.wrap(
                    stream, server_side=True, ssl_context=self._context(mode),
                    standard_compatible=False,
                )  # fmt: skip
        except (OSError, TimeoutError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            self._orch._report(
                handle.module_id,
                "WARN",
                f"channel connection refused: TLS handshake failed: {exc!r}",
            )
            await stream.aclose()
            return None

    async def _accept(self, handle: ModuleHandle, listener: Listener[SocketStream]) -> None:
        async def serve(plain: SocketStream) -> None:
            stream = await self._handshake(handle, plain)
            if stream is None:
                return
            old = self._connections.get(handle.module_id)
            self._connections[handle.module_id] = stream
            self._connected[handle.module_id].set()
            if old is not None:
                await old.aclose()
            try:
                await self._read(handle, stream)
            finally:
                if self._connections.get(handle.module_id) is stream:
                    del self._connections[handle.module_id]
                await stream.aclose()

        try:
            await listener.serve(serve)
        finally:  # closed here, on cancellation: closing it under serve() would raise there
            await listener.aclose()

    async def _read(self, handle: ModuleHandle, stream: ByteStream) -> None:
        from pywatt.core.envelope import decode_envelope, frame_payload_to_json
        from pywatt.core.messages import decode_m2o

        try:
            async with incoming_frames(stream) as frames:
                async for fmt, data in frames:
                    try:
                        text = frame_payload_to_json(fmt, data)
                        try:
                            msg = decode_m2o(text)
                        except UnknownOpError:  # m→o frames are enveloped (§4.2)
                            msg = decode_envelope(text).content_as_m2o()
                    except ProtocolError as exc:
                        self._orch._report(handle.module_id, "WARN", f"bad channel frame: {exc}")
                        continue
                    handle.channel_frames.append(msg)
                    await self._dispatch(handle, msg)
        except ProtocolError as exc:
            self._orch._report(handle.module_id, "WARN", f"channel closed: {exc}")

    async def _dispatch(self, handle: ModuleHandle, msg: object) -> None:
        from pywatt.core.messages import HttpResponse, RouteToModule

        if isinstance(msg, RouteToModule):
            await self.route(handle.module_id, msg)
        elif isinstance(msg, HttpResponse):
            self._orch._report(
                handle.module_id,
                "INFO",
                "http_response on the channel",
                request_id=msg.request_id,
                status_code=msg.status_code,
            )

    async def route(self, source: str, msg: RouteToModule) -> None:
        """Forward a ``route_to_module`` to its target as a bare frame."""
        from pywatt.core.messages import RoutedModuleMessage, RoutedModuleResponse

        forward: BaseModel
        if msg.target_endpoint == REPLY_ENDPOINT:
            forward = RoutedModuleResponse(
                source_module_id=source, request_id=msg.request_id, payload=msg.payload
            )
        else:
            forward = RoutedModuleMessage(
                source_module_id=source, original_request_id=msg.request_id, payload=msg.payload
            )
        if not await self.send(msg.target_module_id, forward):
            self._orch._report(
                source,
                "WARN",
                f"cannot route to {msg.target_module_id!r}: it has no connected TCP channel",
                request_id=str(msg.request_id),
            )

    async def send(self, module_id: str, msg: BaseModel) -> bool:
        """Write one bare o→m frame to a module's channel; False when it has none."""
        from pywatt.core.envelope import encode_frame
        from pywatt.core.messages import encode

        stream = self._connections.get(module_id)
        if stream is None:
            return False
        try:
            await stream.send(encode_frame(encode(msg)))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            return False
        return True

    async def aclose(self) -> None:
        for stream in list(self._connections.values()):
            await stream.aclose()
