"""Module-to-module routing over a channel (§7.5), plus pywatt's reply extension.

Requests go out as ``route_to_module`` with a ``Message<R>`` payload; responses come back as
``routed_module_response`` and are decoded as bare JSON. Handlers are keyed by *source*
module, as in Rust. The Rust protocol has no way for the receiver to answer, so pywatt adds
one: a handler's non-None return value is sent as ``route_to_module`` to the source module,
endpoint :data:`REPLY_ENDPOINT`, with the original ``request_id``. The pywatt dev orchestrator
turns that into the sender's ``routed_module_response``; a Rust orchestrator forwards it as an
ordinary routed message, so it is an opt-in extension, not part of the Rust wire contract.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio

from pywatt.comm.metrics import LatencyHistogram
from pywatt.comm.resilience import route_policies_from_env
from pywatt.core._reply import PendingReplies
from pywatt.core.envelope import (
    EncodedMessage,
    EncodingFormat,
    MessageMetadata,
    decode_envelope,
    encode_envelope,
)
from pywatt.core.errors import (
    ChannelClosedError,
    ChannelError,
    ConfigError,
    MessageDecodeError,
    ProtocolError,
    RouteTimeoutError,
)
from pywatt.core.messages import (
    REPLY_ENDPOINT,
    RoutedModuleMessage,
    RoutedModuleResponse,
    RouteToModule,
)
from pywatt.core.telemetry import get_tracing

if TYPE_CHECKING:
    from pywatt.comm.channel import FramedChannel
    from pywatt.comm.resilience import Policy
    from pywatt.core.state import AppState

__all__ = ["REPLY_ENDPOINT", "RoutedHandler", "Router", "router"]

logger = logging.getLogger("pywatt.comm.routing")


#: ``handler(source_module_id, original_request_id, payload)``; may be async; a non-None
#: result is sent back through the reply extension.
RoutedHandler = Callable[[str, uuid.UUID, Any], Any]
Sender = Callable[[RouteToModule], Awaitable[None]]


class Router:
    """Pending routed requests and routed-message handlers of one channel."""

    def __init__(self, send: Sender) -> None:
        self._send = send
        self._replies: PendingReplies[uuid.UUID] = PendingReplies()
        self._handlers: dict[str | None, RoutedHandler] = {}
        #: Seconds from sending each request to its response (or its failure).
        self.latency = LatencyHistogram()
        #: Requests that timed out or lost their connection.
        self.errors = 0
        #: Resilience policies by target module id; ``None`` applies to every other target.
        #: Set in code, or from ``PYWATT_ROUTE_POLICIES`` in the module's environment.
        self.policies: dict[str | None, Policy] = route_policies_from_env(os.environ)

    @property
    def pending(self) -> int:
        return len(self._replies)

    async def route(
        self,
        target_module_id: str,
        target_endpoint: str,
        request: Any,
        *,
        timeout: float = 30.0,
        policy: Policy | None = None,
    ) -> Any:
        """Send ``request`` to another module and return its response as a JSON value.

        ``policy`` (else the one set in :attr:`policies` for the target) wraps each attempt;
        a retried request gets a new ``request_id``.

        :raises RouteTimeoutError: no response within ``timeout`` seconds.
        :raises ChannelClosedError: the connection broke or the channel closed while waiting.
        :raises CircuitOpenError: the policy's breaker is open.
        """
        policy = policy or self.policies.get(target_module_id) or self.policies.get(None)
        tracing = get_tracing()
        if tracing is None:
            return await self._attempt(policy, target_module_id, target_endpoint, request, timeout)
        attributes = {
            "pywatt.route.target": target_module_id,
            "pywatt.route.endpoint": target_endpoint,
        }
        with tracing.span(f"route {target_endpoint}", kind="client", attributes=attributes):
            return await self._attempt(policy, target_module_id, target_endpoint, request, timeout)

    async def _attempt(
        self,
        policy: Policy | None,
        target_module_id: str,
        target_endpoint: str,
        request: Any,
        timeout: float,
    ) -> Any:
        if policy is None:
            return await self._route_once(target_module_id, target_endpoint, request, timeout)
        return await policy.run(
            lambda: self._route_once(target_module_id, target_endpoint, request, timeout)
        )

    async def _route_once(
        self, target_module_id: str, target_endpoint: str, request: Any, timeout: float
    ) -> Any:
        request_id = uuid.uuid4()
        metadata = None
        tracing = get_tracing()
        if tracing is not None:
            # W3C trace context rides in the envelope's metadata properties.
            carrier: dict[str, str] = {}
            tracing.inject(carrier)
            metadata = MessageMetadata(properties=carrier) if carrier else None
        payload = EncodedMessage(
            data=encode_envelope(request, metadata=metadata), format=EncodingFormat.JSON
        )
        msg = RouteToModule(
            target_module_id=target_module_id,
            target_endpoint=target_endpoint,
            request_id=request_id,
            payload=payload,
        )
        start = time.perf_counter()
        try:
            with anyio.fail_after(timeout):
                return await self._replies.request(request_id, lambda: self._send(msg), None)
        except TimeoutError:
            self.errors += 1
            raise RouteTimeoutError(
                f"no response from {target_module_id!r} ({target_endpoint}) within {timeout} s"
            ) from None
        except ChannelError:
            self.errors += 1
            raise
        finally:
            self.latency.observe(time.perf_counter() - start)

    def on_routed(self, source_module_id: str | None, handler: RoutedHandler) -> None:
        """Handle routed messages from ``source_module_id`` (None = any source without one)."""
        self._handlers[source_module_id] = handler

    def resolve(self, msg: RoutedModuleResponse) -> None:
        if not self._replies.waiting(msg.request_id):
            logger.warning(
                "dropping routed response for unknown or expired request %s from %s",
                msg.request_id,
                msg.source_module_id,
            )
            return
        try:
            value = json.loads(msg.payload.to_json_bytes())
        except (ValueError, ProtocolError) as exc:
            self._replies.fail(
                msg.request_id,
                MessageDecodeError(
                    f"routed response from {msg.source_module_id!r} is not JSON: {exc}"
                ),
            )
            return
        self._replies.resolve(msg.request_id, value)

    def fail_all(self, reason: str) -> None:
        """Fail every waiting ``route`` call: their connection is gone."""
        self._replies.fail_all(ChannelClosedError(reason))

    async def deliver(self, msg: RoutedModuleMessage) -> None:
        """Run the handler for one routed message; send its result with the reply extension."""
        source = msg.source_module_id
        handler = self._handlers.get(source) or self._handlers.get(None)
        if handler is None:
            logger.warning("no handler for routed message from %r; discarded", source)
            return
        try:
            value, properties = _payload_value(msg.payload)
        except (ValueError, ProtocolError) as exc:
            logger.warning("routed message from %r has an undecodable payload: %s", source, exc)
            return
        tracing = get_tracing()
        try:
            if tracing is None:
                result = await _call(handler, source, msg.original_request_id, value)
            else:
                carrier = {k: v for k, v in properties.items() if isinstance(v, str)}
                with tracing.span(
                    "routed message",
                    kind="server",
                    carrier=carrier,
                    attributes={"pywatt.route.source": str(source)},
                ):
                    result = await _call(handler, source, msg.original_request_id, value)
        except Exception:
            logger.exception("routed message handler for %r failed", source)
            return
        if result is None:
            return
        reply = RouteToModule(
            target_module_id=source,
            target_endpoint=REPLY_ENDPOINT,
            request_id=msg.original_request_id,
            payload=EncodedMessage.from_json_value(result),
        )
        try:
            await self._send(reply)
        except ChannelError as exc:
            logger.warning("reply to routed request %s not sent: %s", msg.original_request_id, exc)


async def _call(handler: RoutedHandler, source: Any, request_id: Any, value: Any) -> Any:
    result = handler(source, request_id, value)
    if inspect.isawaitable(result):
        result = await result
    return result


def _payload_value(payload: EncodedMessage) -> tuple[Any, dict[str, Any]]:
    """``Message<R>`` content first, bare JSON otherwise (``EncodedMessage::decode``).

    Returns the value and the envelope's metadata properties (trace context among them).
    """
    text = payload.to_json_bytes()
    try:
        message = decode_envelope(text)
    except ProtocolError:
        return json.loads(text), {}
    return message.content, message.metadata.properties or {}


def router(state: AppState[Any]) -> FramedChannel:
    """The module's routing channel: the TCP channel if connected, else the Unix one."""
    for key in ("tcp_channel", "unix_channel"):
        channel = state.extensions.get(key)
        if channel is not None:
            return channel  # type: ignore[no-any-return]
    raise ConfigError(
        "module-to-module routing needs a tcp or unix channel, and init configured none "
        "that connected"
    )
