"""The ``redis://`` broker on Redis Streams: XADD, XREADGROUP, XACK, XAUTOCLAIM.

A subject is the stream ``<prefix>:<subject>``; a group is a consumer group on it and every
subscriber is one consumer. A nacked message is claimed back at once (XCLAIM), one whose
consumer died is claimed by any replica once idle for ``ack_wait`` (XAUTOCLAIM). Requests go
through the stream ``<prefix>:rpc:<subject>``; replies come back on a short-lived list.
Every connection is named ``<client_name>`` (CLIENT SETNAME), so an operator sees whose it is.
"""

from __future__ import annotations

import contextlib
import json
import struct
import time
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
    from redis.asyncio import Redis

__all__ = ["RedisStreamsBroker"]

_LEN = struct.Struct(">I")
Entry = tuple[bytes, dict[bytes, bytes]]


class RedisStreamsBroker:
    """``redis://host:6379/0``; options: ``prefix``, ``maxlen`` (approximate), ``client_name``,
    ``max_connections``."""

    schemes: ClassVar[tuple[str, ...]] = ("redis", "rediss")
    name = "redis-streams"
    shared = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "pywatt",
        maxlen: int | None = 1_000_000,
        client_name: str | None = None,
        max_connections: int = 64,
        **options: Any,
    ) -> None:
        self.max_connections = max_connections
        self.url = url
        self.prefix = prefix
        self.maxlen = maxlen
        self.client_name = client_name or f"pywatt-{uuid.uuid4().hex[:12]}"
        self._redis: Redis | None = None
        self._subs: list[Subscription] = []

    @property
    def client(self) -> Redis:
        """The redis.asyncio client, for what the contract does not cover."""
        if self._redis is None:
            raise BrokerError("the Redis broker is not connected")
        return self._redis

    def key(self, subject: str) -> str:
        return f"{self.prefix}:{subject}"

    async def connect(self) -> None:
        try:
            from redis.asyncio import BlockingConnectionPool, Redis
        except ImportError as exc:
            raise BrokerError("redis:// needs redis: pip install 'pywatt-comm[redis]'") from exc
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff
        from redis.exceptions import (
            ConnectionError as RedisConnectionError,
            TimeoutError as RedisTimeoutError,
        )

        # A bounded pool that waits for a free connection, so a burst of publishes queues.
        pool = BlockingConnectionPool.from_url(
            self.url,
            max_connections=self.max_connections,
            timeout=20,
            client_name=self.client_name,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 5),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            health_check_interval=30,
        )
        self._redis = Redis.from_pool(pool)  # owns the pool: aclose() closes it
        try:
            await self._redis.ping()
        except Exception as exc:
            raise BrokerError(f"cannot connect to Redis at {self.url}: {exc}") from exc

    async def publish(
        self, subject: str, data: bytes, headers: Mapping[str, str] | None = None
    ) -> PublishAck:
        fields: dict[Any, Any] = {"d": data}
        if headers:
            fields["h"] = json.dumps(dict(headers))
        try:
            entry_id = await self.client.xadd(
                self.key(subject), fields, maxlen=self.maxlen, approximate=True
            )
        except Exception as exc:
            raise BrokerError(f"publish to {subject!r} failed: {type(exc).__name__}") from exc
        return PublishAck(stream=self.key(subject), sequence=_text(entry_id))

    async def _ensure_group(self, key: str, group: str, start: str) -> None:
        from redis.exceptions import ResponseError

        try:
            await self.client.xgroup_create(key, group, id=start, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def subscribe(
        self, subject: str, handler: Handler, options: SubscribeOptions | None = None
    ) -> Subscription:
        options = options or SubscribeOptions()
        key = self.key(subject)
        group = options.group or f"eph-{uuid.uuid4().hex}"
        await self._ensure_group(key, group, "0" if options.group else "$")
        reader = _GroupReader(self, key, subject, group, options.ack_wait)

        async def close() -> None:
            await reader.flush_acks()
            if options.group is None:
                with contextlib.suppress(Exception):
                    await self.client.xgroup_destroy(key, group)
            else:
                await reader.forget_if_idle()

        sub = PullConsumer(
            subject, handler, options, pull=reader.pull, publish=self.publish, close=close
        )
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
        inbox = f"{self.prefix}:inbox:{uuid.uuid4().hex}"
        fields: dict[Any, Any] = {"d": data, "r": inbox, "t": repr(time.time() + timeout)}
        if headers:
            fields["h"] = json.dumps(dict(headers))
        redis: Any = self.client  # redis-py's stubs type replies loosely
        try:
            await redis.xadd(self.key(f"rpc:{subject}"), fields, maxlen=10_000)
            got = await redis.blpop([inbox], timeout=timeout)
        except Exception as exc:
            raise BrokerError(f"request to {subject!r} failed: {type(exc).__name__}") from exc
        if got is None:
            raise BrokerTimeoutError(f"no reply on {subject!r} within {timeout} s")
        raw: bytes = got[1]
        (size,) = _LEN.unpack_from(raw)
        reply_headers = json.loads(raw[_LEN.size : _LEN.size + size])
        return Reply(raw[_LEN.size + size :], reply_headers)

    async def reply(
        self, subject: str, responder: Responder, *, group: str | None = None
    ) -> Subscription:
        async def answer(delivery: Delivery) -> None:
            inbox = delivery.headers["_inbox"]
            if float(delivery.headers["_deadline"]) < time.time():
                return  # the requester gave up already
            headers = {k: v for k, v in delivery.headers.items() if not k.startswith("_")}
            data = await responder(delivery.data, headers)
            payload = _LEN.pack(2) + b"{}" + data
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.rpush(inbox, payload)
                pipe.expire(inbox, 60)
                await pipe.execute()

        # A request is answered at most once: a stale one is worse than a timeout.
        options = SubscribeOptions(group=group, max_deliver=1, ack_wait=30.0, concurrency=16)
        return await self.subscribe(f"rpc:{subject}", answer, options)

    async def aclose(self) -> None:
        for sub in self._subs:
            await sub.drain()
        self._subs.clear()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def delete(self, subject: str) -> None:
        """Delete ``subject``'s stream (and its request stream) with their groups."""
        await self.client.delete(self.key(subject), self.key(f"rpc:{subject}"))


class _GroupReader:
    """One consumer in a group: claims what is due for redelivery, then reads new entries."""

    def __init__(
        self, broker: RedisStreamsBroker, key: str, subject: str, group: str, ack_wait: float
    ) -> None:
        self.broker = broker
        self.key = key
        self.subject = subject
        self.group = group
        self.consumer = f"{broker.client_name}-{uuid.uuid4().hex[:8]}"
        self.min_idle_ms = int(ack_wait * 1000)
        self._nacked: dict[bytes, tuple[float, int]] = {}  # id -> (due, attempts so far)
        self._acks: list[bytes] = []
        self._next_claim = 0.0

    async def flush_acks(self) -> None:
        """One XACK for every ack since the last pull: one round trip instead of one each."""
        if not self._acks:
            return
        ids, self._acks = self._acks, []
        try:
            await self.broker.client.xack(self.key, self.group, *ids)
        except Exception:
            self._acks[:0] = ids  # kept for the next try; until then they count as in flight
            raise

    async def forget_if_idle(self) -> None:
        """Remove this consumer from its group unless it still holds messages (they would be
        lost with it: XGROUP DELCONSUMER drops its pending entries)."""
        redis = self.broker.client
        with contextlib.suppress(Exception):
            held = await redis.xpending_range(
                self.key, self.group, min="-", max="+", count=1, consumername=self.consumer
            )
            if not held:
                await redis.xgroup_delconsumer(self.key, self.group, self.consumer)

    async def pull(self, limit: int, timeout: float) -> list[Delivery]:
        redis: Any = self.broker.client
        await self.flush_acks()
        out = await self._retry_nacked(limit)
        now = time.monotonic()
        if len(out) < limit and now >= self._next_claim:
            self._next_claim = now + min(self.min_idle_ms / 2000, 1.0)
            out += await self._claim_idle(limit - len(out))
        if len(out) < limit:
            block = None if out else max(int(min(timeout, self._nack_wait()) * 1000), 1)
            streams = await redis.xreadgroup(
                self.group, self.consumer, {self.key: ">"}, count=limit - len(out), block=block
            )
            for _key, entries in streams or []:
                out += [self._delivery(e, 1) for e in entries if e[1]]
        return out

    def _nack_wait(self) -> float:
        if not self._nacked:
            return 10.0
        return max(min(due for due, _ in self._nacked.values()) - time.monotonic(), 0.001)

    async def _retry_nacked(self, limit: int) -> list[Delivery]:
        now = time.monotonic()
        due = [i for i, (at, _n) in self._nacked.items() if at <= now][:limit]
        if not due:
            return []
        attempts = {i: self._nacked.pop(i)[1] for i in due}
        # XCLAIM counts the delivery, as a redelivery on NATS would.
        redis: Any = self.broker.client
        entries = await redis.xclaim(self.key, self.group, self.consumer, 0, due)
        return [self._delivery(e, attempts[e[0]] + 1) for e in entries if e[1]]

    async def _claim_idle(self, limit: int) -> list[Delivery]:
        redis: Any = self.broker.client
        result = await redis.xautoclaim(
            self.key, self.group, self.consumer, self.min_idle_ms, "0-0", count=limit
        )
        entries: list[Entry] = [e for e in result[1] if e[1]]
        if not entries:
            return []
        counts: dict[bytes, int] = {}
        for entry_id, _fields in entries:
            info = await redis.xpending_range(
                self.key, self.group, min=entry_id, max=entry_id, count=1
            )
            counts[entry_id] = int(info[0]["times_delivered"]) if info else 1
        return [self._delivery(e, counts[e[0]]) for e in entries]

    def _delivery(self, entry: Entry, attempt: int) -> Delivery:
        entry_id, fields = entry
        headers: dict[str, str] = json.loads(fields[b"h"]) if b"h" in fields else {}
        if b"r" in fields:
            headers["_inbox"] = _text(fields[b"r"])
            headers["_deadline"] = _text(fields[b"t"])

        async def ack() -> None:
            self._acks.append(entry_id)  # sent with the next pull, or when the consumer drains

        async def nack(delay: float) -> None:
            self._nacked[entry_id] = (time.monotonic() + delay, attempt)

        return Delivery(self.subject, fields.get(b"d", b""), headers, attempt, ack, nack)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
