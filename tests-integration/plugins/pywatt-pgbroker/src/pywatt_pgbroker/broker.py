"""``pgbroker://user@host:5432/db``: a durable broker kept in four PostgreSQL tables.

* ``pywatt_pgbroker_message``: every published message, by subject, in id order.
* ``pywatt_pgbroker_group``: the groups subscribed to each subject.
* ``pywatt_pgbroker_delivery``: one row per message and group until the group acks it, with
  its attempt count and when it is next due. Publishing adds a row for every group of the
  subject; a new named group gets a row for every stored message.
* ``pywatt_pgbroker_reply``: replies waiting for their requester.

Consumers take due rows with ``FOR UPDATE SKIP LOCKED``, so replicas never take the same row,
and push the row's due time ``ack_wait`` ahead: a consumer that dies leaves its rows to come
due again. ``LISTEN/NOTIFY`` wakes idle consumers and requesters; they also poll, so a lost
notification only delays. Requests are messages on ``rpc:<subject>``. Messages are kept until
``delete(subject)``: retention is the operator's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from pywatt.comm.brokers import PullConsumer
from pywatt.core import BrokerError, BrokerTimeoutError
from pywatt.core.brokers import (
    Delivery,
    Handler,
    PublishAck,
    Reply,
    Responder,
    SubscribeOptions,
    Subscription,
)

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

__all__ = ["PgBroker"]

logger = logging.getLogger("pywatt_pgbroker")

CHANNEL = "pywatt_pgbroker"
_POLL = 0.1  # seconds between looks when no notification comes
_INBOX = "pgbroker-inbox"
_DEADLINE = "pgbroker-deadline"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pywatt_pgbroker_message (
    id bigserial PRIMARY KEY,
    subject text NOT NULL,
    data bytea NOT NULL,
    headers jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS pywatt_pgbroker_message_subject
    ON pywatt_pgbroker_message (subject, id);
CREATE TABLE IF NOT EXISTS pywatt_pgbroker_group (
    subject text NOT NULL,
    grp text NOT NULL,
    PRIMARY KEY (subject, grp)
);
CREATE TABLE IF NOT EXISTS pywatt_pgbroker_delivery (
    subject text NOT NULL,
    grp text NOT NULL,
    message_id bigint NOT NULL,
    attempts integer NOT NULL,
    due timestamptz NOT NULL,
    PRIMARY KEY (subject, grp, message_id)
);
CREATE TABLE IF NOT EXISTS pywatt_pgbroker_reply (
    inbox text PRIMARY KEY,
    data bytea NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
"""

# Publishing and creating a group exclude each other per subject (a shared and an exclusive
# advisory lock), so a group created while a message is published either gets the message
# from the backfill or from the publish, never from neither.
_LOCK = "SELECT pg_advisory_xact_lock{mode}(hashtextextended(%s, 0))"

_PUBLISH = """
WITH msg AS (
    INSERT INTO pywatt_pgbroker_message (subject, data, headers)
    VALUES (%(s)s, %(d)s, %(h)s) RETURNING id
), fan AS (
    INSERT INTO pywatt_pgbroker_delivery (subject, grp, message_id, attempts, due)
    SELECT g.subject, g.grp, msg.id, 0, now() FROM pywatt_pgbroker_group g, msg
    WHERE g.subject = %(s)s
)
SELECT id, pg_notify(%(c)s, %(n)s) FROM msg
"""

_BACKFILL = """
INSERT INTO pywatt_pgbroker_delivery (subject, grp, message_id, attempts, due)
SELECT subject, %(g)s, id, 0, now() FROM pywatt_pgbroker_message WHERE subject = %(s)s
ON CONFLICT DO NOTHING
"""

# Due rows of the group, oldest first, skipping rows another consumer is taking right now;
# each is pushed ack_wait ahead and its attempt counted in the same statement.
_TAKE = """
WITH taken AS (
    SELECT message_id FROM pywatt_pgbroker_delivery
    WHERE subject = %(s)s AND grp = %(g)s AND due <= clock_timestamp()
    ORDER BY message_id LIMIT %(n)s
    FOR UPDATE SKIP LOCKED
), moved AS (
    UPDATE pywatt_pgbroker_delivery d
    SET attempts = d.attempts + 1, due = clock_timestamp() + make_interval(secs => %(w)s)
    FROM taken
    WHERE d.subject = %(s)s AND d.grp = %(g)s AND d.message_id = taken.message_id
    RETURNING d.message_id, d.attempts
)
SELECT moved.message_id, moved.attempts, m.data, m.headers
FROM moved JOIN pywatt_pgbroker_message m ON m.id = moved.message_id
ORDER BY moved.message_id
"""

# Settling matches the attempt: a delivery that has since gone to another consumer is theirs.
_ACK = """
DELETE FROM pywatt_pgbroker_delivery
WHERE subject = %s AND grp = %s AND message_id = %s AND attempts = %s
"""
_NACK = """
WITH moved AS (
    UPDATE pywatt_pgbroker_delivery SET due = clock_timestamp() + make_interval(secs => %s)
    WHERE subject = %s AND grp = %s AND message_id = %s AND attempts = %s
    RETURNING 1
)
SELECT pg_notify(%s, %s) FROM moved
"""


def _dsn(url: str) -> str:
    """``pgbroker://...`` as the ``postgresql://...`` libpq understands."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


class PgBroker:
    """``pgbroker://user@host:5432/db``; the query string goes to libpq (``?sslmode=...``)."""

    schemes: ClassVar[tuple[str, ...]] = ("pgbroker",)
    name = "pgbroker"
    shared = True

    def __init__(self, url: str, *, max_connections: int = 8, **options: Any) -> None:
        self.url = url
        self.max_connections = max_connections
        #: Every connection of this broker carries it (``pg_stat_activity.application_name``).
        self.application_name = f"pgbroker-{uuid.uuid4().hex[:12]}"
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._events: dict[str, asyncio.Event] = {}
        self._subs: list[Subscription] = []

    # -- connection -------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """What the module's ``/health`` broker check reads."""
        return self._pool is not None and not self._pool.closed

    @property
    def pool(self) -> AsyncConnectionPool[AsyncConnection[Any]]:
        if self._pool is None:
            raise BrokerError("the pgbroker broker is not connected")
        return self._pool

    async def connect(self) -> None:
        from psycopg_pool import AsyncConnectionPool

        pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            _dsn(self.url),
            min_size=1,
            max_size=self.max_connections,
            kwargs={"autocommit": True, "application_name": self.application_name},
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=10)
            async with pool.connection() as conn, conn.transaction():
                await conn.execute(_LOCK.format(mode=""), (CHANNEL,))  # one creator at a time
                await conn.execute(_SCHEMA)
        except Exception as exc:
            await pool.close()
            raise BrokerError(f"cannot connect to PostgreSQL: {type(exc).__name__}") from exc
        self._pool = pool
        self._listener = asyncio.create_task(self._listen(), name="pgbroker-listen")

    async def _listen(self) -> None:
        """LISTEN on one connection of its own, and connect again whenever it breaks."""
        from psycopg import AsyncConnection

        failures = 0
        while True:
            try:
                conn = await AsyncConnection.connect(
                    _dsn(self.url), autocommit=True, application_name=self.application_name
                )
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    failures = 0
                    self._wake_all()  # what was published while deaf is found by a look
                    async for note in conn.notifies():
                        self._wake(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if failures == 1:
                    logger.warning("pgbroker LISTEN connection lost, reconnecting: %s", exc)
                await asyncio.sleep(min(0.1 * failures, 1.0))

    def _event(self, key: str) -> asyncio.Event:
        event = self._events.get(key)
        if event is None:
            event = self._events[key] = asyncio.Event()
        return event

    def _wake(self, key: str) -> None:
        event = self._events.pop(key, None)
        if event is not None:
            event.set()

    def _wake_all(self) -> None:
        events, self._events = self._events, {}
        for event in events.values():
            event.set()

    async def _wait(self, event: asyncio.Event, deadline: float) -> None:
        left = min(deadline - time.monotonic(), _POLL)
        if left > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), left)

    # -- publish / subscribe ----------------------------------------------------------------

    async def publish(
        self, subject: str, data: bytes, headers: Mapping[str, str] | None = None
    ) -> PublishAck:
        from psycopg.types.json import Jsonb

        params = {
            "s": subject,
            "d": bytes(data),
            "h": Jsonb(dict(headers or {})),
            "c": CHANNEL,
            "n": f"m:{subject}",
        }
        try:
            # One round trip: the pipeline sends BEGIN, the lock, the insert and COMMIT at once.
            async with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
                await conn.execute(_LOCK.format(mode="_shared"), (subject,))
                cur = await conn.execute(_PUBLISH, params)
            row = await cur.fetchone()
        except BrokerError:
            raise
        except Exception as exc:
            raise BrokerError(f"publish to {subject!r} failed: {type(exc).__name__}") from exc
        assert row is not None
        return PublishAck(stream=subject, sequence=str(row[0]))

    async def _add_group(self, subject: str, group: str, backfill: bool) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(_LOCK.format(mode=""), (subject,))
            added = await conn.execute(
                "INSERT INTO pywatt_pgbroker_group (subject, grp) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                (subject, group),
            )
            if added.rowcount == 1 and backfill:
                await conn.execute(_BACKFILL, {"s": subject, "g": group})

    async def _drop_group(self, subject: str, group: str) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(_LOCK.format(mode=""), (subject,))
            for table in ("pywatt_pgbroker_delivery", "pywatt_pgbroker_group"):
                await conn.execute(
                    f"DELETE FROM {table} WHERE subject = %s AND grp = %s", (subject, group)
                )

    async def subscribe(
        self, subject: str, handler: Handler, options: SubscribeOptions | None = None
    ) -> Subscription:
        options = options or SubscribeOptions()
        # No group: a private one that sees only what is published from now on.
        group = options.group or f"_own-{uuid.uuid4().hex}"
        try:
            await self._add_group(subject, group, backfill=options.group is not None)
        except BrokerError:
            raise
        except Exception as exc:
            raise BrokerError(f"subscribe to {subject!r} failed: {type(exc).__name__}") from exc

        async def pull(limit: int, timeout: float) -> list[Delivery]:
            deadline = time.monotonic() + timeout
            while True:
                woken = self._event(f"m:{subject}")  # taken before looking: no wake-up lost
                taken = await self._take(subject, group, limit, options.ack_wait)
                if taken or time.monotonic() >= deadline:
                    return taken
                await self._wait(woken, deadline)

        async def close() -> None:
            if options.group is None:
                await self._drop_group(subject, group)

        consumer = PullConsumer(
            subject, handler, options, pull=pull, publish=self.publish, close=close
        )
        self._subs.append(consumer.start())
        return consumer

    async def _take(self, subject: str, group: str, limit: int, ack_wait: float) -> list[Delivery]:
        params = {"s": subject, "g": group, "n": limit, "w": ack_wait}
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(_TAKE, params)).fetchall()
        return [self._delivery(subject, group, *row) for row in rows]

    def _delivery(
        self, subject: str, group: str, message_id: int, attempt: int, data: bytes, headers: Any
    ) -> Delivery:
        key = (subject, group, message_id, attempt)

        async def ack() -> None:
            async with self.pool.connection() as conn:
                await conn.execute(_ACK, key)

        async def nack(delay: float) -> None:
            async with self.pool.connection() as conn:
                await conn.execute(_NACK, (delay, *key, CHANNEL, f"m:{subject}"))

        return Delivery(subject, bytes(data), dict(headers), attempt, ack, nack)

    # -- request / reply --------------------------------------------------------------------

    async def request(
        self,
        subject: str,
        data: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 5.0,
    ) -> Reply:
        inbox = uuid.uuid4().hex
        sent = {**(headers or {}), _INBOX: inbox, _DEADLINE: repr(time.time() + timeout)}
        deadline = time.monotonic() + timeout
        await self.publish(f"rpc:{subject}", data, sent)
        while True:
            woken = self._event(f"r:{inbox}")
            try:
                async with self.pool.connection() as conn:
                    cur = await conn.execute(
                        "DELETE FROM pywatt_pgbroker_reply WHERE inbox = %s RETURNING data",
                        (inbox,),
                    )
                    row = await cur.fetchone()
            except BrokerError:
                raise
            except Exception as exc:
                raise BrokerError(f"request to {subject!r} failed: {type(exc).__name__}") from exc
            if row is not None:
                return Reply(bytes(row[0]))
            if time.monotonic() >= deadline:
                raise BrokerTimeoutError(f"no reply on {subject!r} within {timeout} s")
            await self._wait(woken, deadline)

    async def reply(
        self, subject: str, responder: Responder, *, group: str | None = None
    ) -> Subscription:
        async def answer(delivery: Delivery) -> None:
            inbox = delivery.headers.get(_INBOX)
            deadline = float(delivery.headers.get(_DEADLINE, "0"))
            if inbox is None or deadline < time.time():
                return  # the requester has given up: a late answer is worth nothing
            own = {k: v for k, v in delivery.headers.items() if k not in (_INBOX, _DEADLINE)}
            answer = await responder(delivery.data, own)
            if deadline < time.time():
                return
            async with self.pool.connection() as conn:
                await conn.execute(
                    "WITH saved AS (INSERT INTO pywatt_pgbroker_reply (inbox, data) "
                    "VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1) "
                    "SELECT pg_notify(%s, %s) FROM saved",
                    (inbox, answer, CHANNEL, f"r:{inbox}"),
                )

        # A request is answered at most once: a failed answer is not retried.
        options = SubscribeOptions(group=group, max_deliver=1, ack_wait=30.0, concurrency=16)
        return await self.subscribe(f"rpc:{subject}", answer, options)

    # -- closing ----------------------------------------------------------------------------

    async def aclose(self) -> None:
        for sub in self._subs:
            await sub.drain()
        self._subs.clear()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def delete(self, subject: str) -> None:
        """Remove ``subject``: its messages, groups and pending deliveries."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(_LOCK.format(mode=""), (subject,))
            for table in (
                "pywatt_pgbroker_delivery",
                "pywatt_pgbroker_group",
                "pywatt_pgbroker_message",
            ):
                await conn.execute(f"DELETE FROM {table} WHERE subject = %s", (subject,))
