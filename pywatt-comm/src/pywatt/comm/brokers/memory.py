"""The ``memory://`` broker: in-process, with the durable semantics of the real ones.

Brokers built from the same URL in one process share their streams, so replicas in a test
share work exactly as they would on NATS or Redis. Nothing crosses a process boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

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

__all__ = ["MemoryBroker"]


@dataclass
class _Pending:
    consumer: str
    due: float
    attempts: int


@dataclass
class _Group:
    next_index: int
    pending: dict[int, _Pending] = field(default_factory=dict)


@dataclass
class _Stream:
    messages: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    groups: dict[str, _Group] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


@dataclass
class _Space:
    streams: dict[str, _Stream] = field(default_factory=dict)
    responders: dict[str, dict[str, list[Responder]]] = field(default_factory=dict)
    turn: itertools.count[int] = field(default_factory=itertools.count)

    def stream(self, subject: str) -> _Stream:
        return self.streams.setdefault(subject, _Stream())


class MemoryBroker:
    """In-process broker: ``memory://`` or ``memory://name`` (one space per name)."""

    schemes: ClassVar[tuple[str, ...]] = ("memory",)
    name = "memory"
    shared = False
    _spaces: ClassVar[dict[str, _Space]] = {}

    def __init__(self, url: str = "memory://", **options: Any) -> None:
        parts = urlsplit(url)
        if parts.scheme != "memory":
            raise BrokerError(f"not a memory:// URL: {url!r}")
        self._key = parts.netloc + parts.path
        self._space = self._spaces.setdefault(self._key, _Space())
        self._subs: list[Subscription] = []
        self._closed = False

    async def connect(self) -> None:
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise BrokerError("the memory broker is closed")

    async def publish(
        self, subject: str, data: bytes, headers: Mapping[str, str] | None = None
    ) -> PublishAck:
        self._check()
        stream = self._space.stream(subject)
        stream.messages.append((bytes(data), dict(headers or {})))
        stream.notify()
        return PublishAck(stream=subject, sequence=str(len(stream.messages)))

    async def subscribe(
        self, subject: str, handler: Handler, options: SubscribeOptions | None = None
    ) -> Subscription:
        self._check()
        options = options or SubscribeOptions()
        stream = self._space.stream(subject)
        group_name = options.group or f"_eph-{uuid.uuid4().hex}"
        if group_name not in stream.groups:
            start = 0 if options.group else len(stream.messages)
            stream.groups[group_name] = _Group(next_index=start)
        group = stream.groups[group_name]
        consumer = uuid.uuid4().hex

        async def pull(limit: int, timeout: float) -> list[Delivery]:
            deadline = time.monotonic() + timeout
            while True:
                self._check()
                taken = _take(stream, group, consumer, limit, options.ack_wait)
                left = deadline - time.monotonic()
                if taken or left <= 0:
                    return [self._delivery(subject, stream, group, i) for i in taken]
                waiting = [p.due for p in group.pending.values()]
                wake = min([left, *(d - time.monotonic() for d in waiting)])
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stream.changed.wait(), max(wake, 0.005))

        async def close() -> None:
            if options.group is None:
                stream.groups.pop(group_name, None)

        sub = PullConsumer(subject, handler, options, pull=pull, publish=self.publish, close=close)
        self._subs.append(sub.start())
        return sub

    def _delivery(self, subject: str, stream: _Stream, group: _Group, index: int) -> Delivery:
        data, headers = stream.messages[index]
        pending = group.pending[index]
        attempt = pending.attempts

        async def ack() -> None:
            current = group.pending.get(index)
            if current is not None and current.attempts == attempt:
                del group.pending[index]

        async def nack(delay: float) -> None:
            current = group.pending.get(index)
            if current is not None and current.attempts == attempt:
                current.due = time.monotonic() + delay
                stream.notify()

        return Delivery(subject, data, dict(headers), attempt, ack, nack)

    async def request(
        self,
        subject: str,
        data: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 5.0,
    ) -> Reply:
        self._check()
        groups = self._space.responders.get(subject, {})
        chosen = [members for members in groups.values() if members]
        if not chosen:
            await asyncio.sleep(0)
            raise BrokerTimeoutError(f"no responder for {subject!r}")
        members = chosen[0]
        responder = members[next(self._space.turn) % len(members)]
        try:
            answer = await asyncio.wait_for(responder(bytes(data), dict(headers or {})), timeout)
        except asyncio.TimeoutError:
            raise BrokerTimeoutError(f"no reply on {subject!r} within {timeout} s") from None
        return Reply(answer)

    async def reply(
        self, subject: str, responder: Responder, *, group: str | None = None
    ) -> Subscription:
        self._check()
        groups = self._space.responders.setdefault(subject, {})
        members = groups.setdefault(group or f"_eph-{uuid.uuid4().hex}", [])
        members.append(responder)
        sub = _Responding(subject, members, responder)
        self._subs.append(sub)
        return sub

    async def aclose(self) -> None:
        for sub in self._subs:
            await sub.drain()
        self._subs.clear()
        self._closed = True

    async def abandon(self) -> None:
        """Stop every subscription without settling: a crash, as replicas see it."""
        for sub in self._subs:
            if isinstance(sub, PullConsumer):
                await sub.abort()
        self._subs.clear()
        self._closed = True

    def delete(self, subject: str) -> None:
        """Forget a subject's messages and groups."""
        self._space.streams.pop(subject, None)
        self._space.responders.pop(subject, None)


def _take(stream: _Stream, group: _Group, consumer: str, limit: int, ack_wait: float) -> list[int]:
    """Due redeliveries first, then new messages; each taken one is pending on ``consumer``."""
    now = time.monotonic()
    taken = [i for i, p in sorted(group.pending.items()) if p.due <= now][:limit]
    while len(taken) < limit and group.next_index < len(stream.messages):
        taken.append(group.next_index)
        group.pending[group.next_index] = _Pending(consumer, now, 0)
        group.next_index += 1
    for index in taken:
        pending = group.pending[index]
        pending.consumer, pending.due = consumer, now + ack_wait
        pending.attempts += 1
    return taken


class _Responding:
    def __init__(self, subject: str, members: list[Responder], responder: Responder) -> None:
        self.subject = subject
        self._members = members
        self._responder = responder

    async def drain(self, timeout: float = 10.0) -> None:
        if self._responder in self._members:
            self._members.remove(self._responder)
