"""A module's broker: ``@module.subscribe`` handlers and ``state.broker.publish``.

The broker is built from ``PYWATT_BROKER_URL`` (the module's environment, ``init.env``, or a
secret of that name) through the broker registry, connected before the module announces,
and drained on a graceful stop: handlers in flight finish and ack, nothing new is pulled.
Payloads go through the registered encoders, chosen by name; a handler decodes by the
message's ``content-type``, so producers with different encodings can share a subject.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pywatt.core.brokers import (
    BROKER_URL_ENV,
    Broker,
    Delivery,
    PublishAck,
    SubscribeOptions,
    Subscription,
    broker_for_url,
)
from pywatt.core.errors import ConfigError, PyWattError
from pywatt.core.telemetry import get_tracing

if TYPE_CHECKING:
    from pywatt.core.config import AppConfig
    from pywatt.core.encoders import Encoder
    from pywatt.core.plugins import Plugins
    from pywatt.core.secrets import SecretClient
    from pywatt.core.state import AppState

__all__ = ["Event", "ModuleBroker", "ReplySpec", "SubscriptionSpec", "connect_module_broker"]

logger = logging.getLogger("pywatt.core.messaging")

CONTENT_TYPE = "content-type"


@dataclass(frozen=True)
class Event:
    """What a ``@module.subscribe`` handler receives: the decoded payload and its delivery."""

    subject: str
    data: Any
    headers: Mapping[str, str]
    attempt: int
    state: AppState[Any]
    delivery: Delivery


EventHandler = Callable[[Event], Awaitable[None]]
ReplyHandler = Callable[[Any, "AppState[Any]"], Awaitable[Any]]


@dataclass(frozen=True)
class SubscriptionSpec:
    subject: str
    handler: EventHandler
    options: SubscribeOptions = field(default_factory=SubscribeOptions)


@dataclass(frozen=True)
class ReplySpec:
    subject: str
    handler: ReplyHandler
    group: str | None = None


class ModuleBroker:
    """``state.broker``: publish and request with encoded payloads; owns the subscriptions."""

    def __init__(self, broker: Broker, plugins: Plugins, *, encoding: str = "json") -> None:
        self.raw = broker
        self._plugins = plugins
        self._default = plugins.encoders.get(encoding)
        self._subscriptions: list[Subscription] = []

    def encoder(self, name: str | None = None) -> Encoder:
        if name is None:
            return self._default
        return self._plugins.encoders.get(name)

    def decode(self, data: bytes, headers: Mapping[str, str]) -> Any:
        """Decode with the encoder whose content type the message names (json by default)."""
        content_type = headers.get(CONTENT_TYPE)
        if content_type and content_type != self._default.content_type:
            for _name, enc in self._plugins.encoders.items():
                if enc.content_type == content_type:
                    return enc.decode(data)
        return self._default.decode(data)

    def _encode(
        self, value: Any, headers: Mapping[str, str] | None, encoding: str | None
    ) -> tuple[bytes, dict[str, str]]:
        enc = self.encoder(encoding)
        return enc.encode(value), {**(headers or {}), CONTENT_TYPE: enc.content_type}

    async def publish(
        self,
        subject: str,
        value: Any,
        *,
        headers: Mapping[str, str] | None = None,
        encoding: str | None = None,
    ) -> PublishAck:
        """Encode ``value`` (json unless ``encoding`` names another encoder) and publish it."""
        data, all_headers = self._encode(value, headers, encoding)
        tracing = get_tracing()
        if tracing is None:
            return await self.raw.publish(subject, data, all_headers)
        with tracing.span(f"publish {subject}", kind="producer", attributes=_attrs(subject)):
            tracing.inject(all_headers)
            return await self.raw.publish(subject, data, all_headers)

    async def request(
        self,
        subject: str,
        value: Any,
        *,
        headers: Mapping[str, str] | None = None,
        encoding: str | None = None,
        timeout: float = 5.0,
    ) -> Any:
        """Send a request to whichever replica answers ``subject``; its decoded reply."""
        data, all_headers = self._encode(value, headers, encoding)
        tracing = get_tracing()
        if tracing is None:
            reply = await self.raw.request(subject, data, all_headers, timeout=timeout)
        else:
            with tracing.span(f"request {subject}", kind="client", attributes=_attrs(subject)):
                tracing.inject(all_headers)
                reply = await self.raw.request(subject, data, all_headers, timeout=timeout)
        return self.decode(reply.data, {**all_headers, **reply.headers})

    async def start(
        self, state: AppState[Any], subscriptions: list[SubscriptionSpec], replies: list[ReplySpec]
    ) -> None:
        for spec in subscriptions:
            handler = self._event_handler(state, spec)
            self._subscriptions.append(
                await self.raw.subscribe(spec.subject, handler, spec.options)
            )
        for reply in replies:
            responder = self._responder(state, reply)
            self._subscriptions.append(
                await self.raw.reply(reply.subject, responder, group=reply.group)
            )
        if subscriptions or replies:
            logger.info(
                "broker subscriptions started",
                extra={
                    "subjects": [s.subject for s in subscriptions] + [r.subject for r in replies]
                },
            )

    def _event_handler(
        self, state: AppState[Any], spec: SubscriptionSpec
    ) -> Callable[[Delivery], Awaitable[None]]:
        async def handle(delivery: Delivery) -> None:
            data = self.decode(delivery.data, delivery.headers)
            event = Event(
                delivery.subject, data, delivery.headers, delivery.attempt, state, delivery
            )
            tracing = get_tracing()
            if tracing is None:
                await spec.handler(event)
                return
            with tracing.span(
                f"consume {delivery.subject}",
                kind="consumer",
                carrier=delivery.headers,
                attributes=_attrs(delivery.subject),
            ):
                await spec.handler(event)

        return handle

    def _responder(
        self, state: AppState[Any], spec: ReplySpec
    ) -> Callable[[bytes, Mapping[str, str]], Awaitable[bytes]]:
        async def respond(data: bytes, headers: Mapping[str, str]) -> bytes:
            tracing = get_tracing()
            if tracing is None:
                answer = await spec.handler(self.decode(data, headers), state)
            else:
                with tracing.span(
                    f"reply {spec.subject}",
                    kind="server",
                    carrier=headers,
                    attributes=_attrs(spec.subject),
                ):
                    answer = await spec.handler(self.decode(data, headers), state)
            enc = self.encoder(None)
            for _name, candidate in self._plugins.encoders.items():
                if candidate.content_type == headers.get(CONTENT_TYPE):
                    enc = candidate  # answer in the requester's encoding
            return enc.encode(answer)

        return respond

    async def drain(self, timeout: float) -> None:
        """Stop pulling; let handlers in flight finish and settle."""
        for sub in self._subscriptions:
            try:
                await sub.drain(timeout)
            except Exception:
                logger.exception("draining a broker subscription failed")
        self._subscriptions.clear()

    async def aclose(self, timeout: float = 10.0) -> None:
        await self.drain(timeout)
        await self.raw.aclose()


def _attrs(subject: str) -> dict[str, str]:
    return {"messaging.destination.name": subject}


async def connect_module_broker(
    config: AppConfig,
    plugins: Plugins,
    secrets: SecretClient,
    *,
    required_by: list[str],
) -> ModuleBroker | None:
    """Connect the module's broker when a URL is configured or a handler needs one."""
    from pywatt.core.redact import register_secret

    url = config.env.get(BROKER_URL_ENV) or os.environ.get(BROKER_URL_ENV)
    if not url and required_by:
        try:
            url = (await secrets.get(BROKER_URL_ENV)).expose()
        except PyWattError:
            url = None
    if not url:
        if required_by:
            raise ConfigError(
                f"the module subscribes to {', '.join(required_by)} but has no broker: set "
                f"{BROKER_URL_ENV} (environment or secret), or run it with `pywatt run --broker`"
            )
        return None
    register_secret(url)  # a broker URL may carry a password
    try:
        broker = broker_for_url(url, plugins)
    except ConfigError as exc:
        if required_by:
            raise
        # Handed a URL (say by `pywatt run --broker`) it has no use for: not worth failing.
        logger.warning("no broker for this module: %s", exc)
        return None
    await broker.connect()
    logger.info("broker connected", extra={"broker": broker.name})
    return ModuleBroker(broker, plugins)
