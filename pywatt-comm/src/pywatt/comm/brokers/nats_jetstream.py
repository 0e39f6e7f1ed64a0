"""The ``nats://`` broker: JetStream for durable subjects, core NATS for request/reply.

Each subject gets its own stream (``PYWATT_<subject>_<hash>``, created on first use, limits
retention, file storage); each group is a durable pull consumer on it, so replicas fetch from
one consumer and share the work. Request subjects must not be captured by a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pywatt.comm.brokers._consumer import PullConsumer
from pywatt.core.brokers import (
    Delivery,
    Handler,
    PublishAck,
    Reply,
    Responder,
    SubscribeOptions,
    Subscription,
)
from pywatt.core.errors import BrokerError, BrokerTimeoutError

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription as NatsSubscription
    from nats.js import JetStreamContext

__all__ = ["NatsBroker", "stream_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def stream_name(subject: str, prefix: str = "PYWATT") -> str:
    """The stream holding ``subject``: readable, and unique through a short hash."""
    digest = hashlib.sha1(subject.encode()).hexdigest()[:10]
    return f"{prefix}_{_UNSAFE.sub('_', subject)[:60]}_{digest}"


def _consumer_name(group: str) -> str:
    return _UNSAFE.sub("_", group)


class NatsBroker:
    """``nats://host:4222``; options: ``stream_prefix``, ``max_age`` (seconds), ``name``."""

    schemes: ClassVar[tuple[str, ...]] = ("nats", "tls")
    name = "nats"
    shared = True

    def __init__(
        self,
        url: str,
        *,
        stream_prefix: str = "PYWATT",
        max_age: float = 7 * 24 * 3600,
        name: str | None = None,
        **options: Any,
    ) -> None:
        self.url = url
        self.stream_prefix = stream_prefix
        self.max_age = max_age
        self.client_name = name or f"pywatt-{uuid.uuid4().hex[:12]}"
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._streams: set[str] = set()
        self._subs: list[Subscription] = []

    @property
    def client(self) -> Client:
        """The nats-py client, for what the contract does not cover."""
        if self._nc is None:
            raise BrokerError("the NATS broker is not connected")
        return self._nc

    async def connect(self) -> None:
        try:
            import nats
        except ImportError as exc:
            raise BrokerError("nats:// needs nats-py: pip install 'pywatt-comm[nats]'") from exc

        try:
            self._nc = await nats.connect(
                self.url,
                name=self.client_name,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.25,
                connect_timeout=5,
                allow_reconnect=True,
            )
        except Exception as exc:
            raise BrokerError(f"cannot connect to NATS at {self.url}: {exc}") from exc
        self._js = self._nc.jetstream(timeout=5)

    @property
    def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise BrokerError("the NATS broker is not connected")
        return self._js

    async def ensure_stream(self, subject: str) -> str:
        """Create ``subject``'s stream when missing; returns its name."""
        from nats.js.api import StorageType
        from nats.js.errors import NotFoundError

        name = stream_name(subject, self.stream_prefix)
        if name in self._streams:
            return name
        js = self._jetstream
        try:
            await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(
                name=name, subjects=[subject], storage=StorageType.FILE, max_age=self.max_age
            )
        self._streams.add(name)
        return name

    async def publish(
        self, subject: str, data: bytes, headers: Mapping[str, str] | None = None
    ) -> PublishAck:
        try:
            stream = await self.ensure_stream(subject)
            ack = await self._jetstream.publish(
                subject, data, stream=stream, headers=dict(headers) if headers else None
            )
        except BrokerError:
            raise
        except Exception as exc:
            raise BrokerError(f"publish to {subject!r} failed: {type(exc).__name__}") from exc
        return PublishAck(stream=ack.stream, sequence=str(ack.seq))

    async def subscribe(
        self, subject: str, handler: Handler, options: SubscribeOptions | None = None
    ) -> Subscription:
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        options = options or SubscribeOptions()
        stream = await self.ensure_stream(subject)
        durable = _consumer_name(options.group or f"eph-{uuid.uuid4().hex}")
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=options.ack_wait,
            max_deliver=-1,  # dead-lettering is ours, so it also covers ack timeouts
            max_ack_pending=-1,
            deliver_policy=DeliverPolicy.ALL if options.group else DeliverPolicy.NEW,
            inactive_threshold=None if options.group else 3600.0,
        )
        psub = await self._jetstream.pull_subscribe(
            subject, durable=durable, stream=stream, config=config
        )

        async def pull(limit: int, timeout: float) -> list[Delivery]:
            try:
                msgs = await psub.fetch(limit, timeout=timeout)
            except (NatsTimeout, asyncio.TimeoutError):
                return []
            return [_delivery(m) for m in msgs]

        async def close() -> None:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()
            if options.group is None:
                with contextlib.suppress(Exception):
                    await self._jetstream.delete_consumer(stream, durable)

        sub = PullConsumer(subject, handler, options, pull=pull, publish=self.publish, close=close)
        self._subs.append(sub.start())
        return sub

    async def request(
        self,
        subject: str,
        data: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 5.0,
    ) -> Reply:
        from nats.errors import NoRespondersError, TimeoutError as NatsTimeout

        try:
            msg = await self.client.request(
                subject, data, timeout=timeout, headers=dict(headers) if headers else None
            )
        except (NatsTimeout, NoRespondersError, asyncio.TimeoutError):
            raise BrokerTimeoutError(f"no reply on {subject!r} within {timeout} s") from None
        return Reply(msg.data, dict(msg.headers or {}))

    async def reply(
        self, subject: str, responder: Responder, *, group: str | None = None
    ) -> Subscription:
        sub = _Responding(subject, responder)
        sub.sub = await self.client.subscribe(subject, queue=group or "", cb=sub.on_message)
        self._subs.append(sub)
        return sub

    async def aclose(self) -> None:
        for sub in self._subs:
            await sub.drain()
        self._subs.clear()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.drain()
            self._nc = None

    async def delete(self, subject: str) -> None:
        """Delete ``subject``'s stream with every consumer on it."""
        from nats.js.errors import NotFoundError

        name = stream_name(subject, self.stream_prefix)
        self._streams.discard(name)
        with contextlib.suppress(NotFoundError):
            await self._jetstream.delete_stream(name)


def _delivery(msg: Msg) -> Delivery:
    async def nack(delay: float) -> None:
        await msg.nak(delay=delay or None)

    return Delivery(
        msg.subject, msg.data, dict(msg.headers or {}), msg.metadata.num_delivered, msg.ack, nack
    )


class _Responding:
    """A core-NATS (queue) subscription answering requests, each in its own task."""

    def __init__(self, subject: str, responder: Responder) -> None:
        self.subject = subject
        self.sub: NatsSubscription | None = None
        self._responder = responder
        self._tasks: set[asyncio.Task[None]] = set()

    async def on_message(self, msg: Msg) -> None:
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: Msg) -> None:
        import logging

        try:
            answer = await self._responder(msg.data, dict(msg.headers or {}))
            await msg.respond(answer)
        except Exception as exc:
            logging.getLogger("pywatt.comm.brokers").warning(
                "responder for %s failed: %s: %s", self.subject, type(exc).__name__, exc
            )

    async def drain(self, timeout: float = 10.0) -> None:
        if self.sub is not None:
            with contextlib.suppress(Exception):
                await self.sub.unsubscribe()
            self.sub = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
