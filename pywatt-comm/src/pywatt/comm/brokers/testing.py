"""A conformance kit for broker plugins: subclass :class:`BrokerConformance` in a test module.

::

    from pywatt.comm.brokers.testing import BrokerConformance

    class TestMyBroker(BrokerConformance):
        @pytest.fixture
        def broker_url(self) -> str:
            return "mybroker://127.0.0.1:1234"

        async def drop_connection(self, broker) -> None:
            ...  # break the broker's connection so that it must reconnect

The broker is built through the registry (``pywatt_register_brokers``), so the plugin must be
installed. A broker whose ``shared`` is true is also checked across processes: a consumer
process is killed with SIGKILL mid-batch and a surviving replica must finish its work.
Each test uses its own uuid-named subjects and deletes them (``broker.delete(subject)``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from pywatt.comm.brokers._consumer import DEAD_ATTEMPTS, DEAD_SUBJECT
from pywatt.core.brokers import Broker, Delivery, SubscribeOptions, broker_for_url
from pywatt.core.errors import BrokerError, BrokerTimeoutError

__all__ = ["BrokerConformance", "eventually"]

OpenBroker = Callable[..., Awaitable[Broker]]
_KIT_CONSUMER = "pywatt.comm.brokers._kit_consumer"


async def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until ``check()`` holds; fail the test naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


class BrokerConformance:
    """The behaviour every broker backend must have. Subclasses provide ``broker_url``."""

    pytestmark = pytest.mark.anyio

    #: Messages in the queue-group test (the issue's figure: 3 consumers share 3,000).
    group_messages = 3000

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"  # nats-py and redis.asyncio run on asyncio only

    @pytest.fixture
    def broker_url(self) -> str:
        raise NotImplementedError("a conformance test class must define a broker_url fixture")

    async def drop_connection(self, broker: Broker) -> None:
        """Break ``broker``'s connection (server- or client-side); it must reconnect itself."""
        raise NotImplementedError("a conformance test class must define drop_connection")

    async def crash(self, broker: Broker) -> None:
        """For a broker that cannot cross processes: stop a consumer without settling."""
        abandon = getattr(broker, "abandon", None)
        if abandon is None:
            raise NotImplementedError("an in-process broker needs abandon() or crash()")
        await abandon()

    @pytest.fixture
    async def open_broker(self, broker_url: str, subject: str) -> AsyncIterator[OpenBroker]:
        # Depends on ``subject`` so that brokers close before the subject is deleted.
        opened: list[Broker] = []

        async def open_one(**options: Any) -> Broker:
            broker = broker_for_url(broker_url, **options)
            await broker.connect()
            opened.append(broker)
            return broker

        yield open_one
        for broker in reversed(opened):
            with contextlib.suppress(Exception):
                await broker.aclose()

    @pytest.fixture
    async def subject(self, broker_url: str) -> AsyncIterator[str]:
        name = f"pwkit.{uuid.uuid4().hex[:12]}"
        yield name
        broker = broker_for_url(broker_url)
        await broker.connect()
        for created in (name, f"{name}.dead"):
            await _delete(broker, created)
        await broker.aclose()

    # -- publish / subscribe --------------------------------------------------------------

    async def test_publish_subscribe_in_order(self, open_broker: OpenBroker, subject: str) -> None:
        broker = await open_broker()
        got: list[tuple[bytes, dict[str, str], int]] = []

        async def handle(d: Delivery) -> None:
            got.append((d.data, dict(d.headers), d.attempt))

        await broker.subscribe(subject, handle, SubscribeOptions(group="kit"))
        acks = [await broker.publish(subject, f"m{i}".encode(), {"n": str(i)}) for i in range(5)]
        assert all(a.stream and a.sequence for a in acks)
        assert len({a.sequence for a in acks}) == 5
        await eventually(lambda: len(got) == 5, 10, "5 deliveries")
        assert [g[0] for g in got] == [f"m{i}".encode() for i in range(5)]
        assert [g[1]["n"] for g in got] == [str(i) for i in range(5)]
        assert {g[2] for g in got} == {1}

    async def test_each_group_gets_every_message(
        self, open_broker: OpenBroker, subject: str
    ) -> None:
        broker = await open_broker()
        seen: dict[str, list[bytes]] = {"a": [], "b": []}
        for group in seen:

            async def handle(d: Delivery, group: str = group) -> None:
                seen[group].append(d.data)

            await broker.subscribe(subject, handle, SubscribeOptions(group=group))
        for i in range(20):
            await broker.publish(subject, str(i).encode())
        await eventually(lambda: all(len(v) == 20 for v in seen.values()), 10, "fan-out")
        assert sorted(seen["a"]) == sorted(seen["b"])

    async def test_queue_group_shares_each_message_once(
        self, open_broker: OpenBroker, subject: str, request: pytest.FixtureRequest
    ) -> None:
        total = self.group_messages
        counts: collections.Counter[bytes] = collections.Counter()
        per_replica = [0, 0, 0]
        for replica in range(3):
            broker = await open_broker()

            async def handle(d: Delivery, replica: int = replica) -> None:
                counts[d.data] += 1
                per_replica[replica] += 1

            options = SubscribeOptions(group="workers", concurrency=16, ack_wait=60)
            await broker.subscribe(subject, handle, options)
        publisher = await open_broker()
        for start in range(0, total, 200):
            await asyncio.gather(
                *(publisher.publish(subject, str(i).encode()) for i in range(start, start + 200))
            )
        await eventually(lambda: len(counts) == total, 60, f"{total} distinct messages")
        await asyncio.sleep(0.5)  # a duplicate would arrive now
        assert sum(counts.values()) == total, [m for m, n in counts.items() if n > 1][:5]
        assert all(n > 0 for n in per_replica), per_replica
        request.node.user_properties.append(("queue_group_spread", per_replica))
        sys.stderr.write(f"\nqueue-group spread over 3 replicas: {per_replica}\n")

    # -- failures -------------------------------------------------------------------------

    async def test_nack_redelivers(self, open_broker: OpenBroker, subject: str) -> None:
        broker = await open_broker()
        attempts: list[int] = []

        async def handle(d: Delivery) -> None:
            attempts.append(d.attempt)
            if d.attempt == 1:
                raise RuntimeError("first try fails")

        await broker.subscribe(subject, handle, SubscribeOptions(group="kit", max_deliver=3))
        await broker.publish(subject, b"x")
        await eventually(lambda: attempts == [1, 2], 10, "a redelivery after nack")
        await asyncio.sleep(0.3)
        assert attempts == [1, 2]

    async def test_explicit_nack_then_ack(self, open_broker: OpenBroker, subject: str) -> None:
        broker = await open_broker()
        attempts: list[int] = []

        async def handle(d: Delivery) -> None:
            attempts.append(d.attempt)
            if d.attempt < 3:
                await d.nack()
            else:
                await d.ack()

        await broker.subscribe(subject, handle, SubscribeOptions(group="kit", max_deliver=5))
        await broker.publish(subject, b"x")
        await eventually(lambda: attempts == [1, 2, 3], 10, "two nacks then an ack")
        await asyncio.sleep(0.3)
        assert attempts == [1, 2, 3]

    async def test_dead_letter_after_max_deliver(
        self, open_broker: OpenBroker, subject: str
    ) -> None:
        broker = await open_broker()
        attempts: list[int] = []
        dead: list[Delivery] = []

        async def handle(d: Delivery) -> None:
            attempts.append(d.attempt)
            raise ValueError("always fails")

        async def on_dead(d: Delivery) -> None:
            dead.append(d)

        await broker.subscribe(subject, handle, SubscribeOptions(group="kit", max_deliver=3))
        await broker.subscribe(f"{subject}.dead", on_dead, SubscribeOptions(group="dlq"))
        await broker.publish(subject, b"poison", {"k": "v"})
        await eventually(lambda: len(dead) == 1, 15, "the dead letter")
        await asyncio.sleep(0.3)
        assert attempts == [1, 2, 3]
        assert dead[0].data == b"poison"
        assert dead[0].headers["k"] == "v"
        assert dead[0].headers[DEAD_SUBJECT] == subject
        assert dead[0].headers[DEAD_ATTEMPTS] == "3"
        assert len(dead) == 1

    async def test_unacked_delivery_goes_to_another_replica(
        self, open_broker: OpenBroker, subject: str
    ) -> None:
        """The in-process half of at-least-once: a stuck consumer's message moves on."""
        stuck, healthy = await open_broker(), await open_broker()
        taken = asyncio.Event()
        done: list[int] = []

        async def hang(d: Delivery) -> None:
            taken.set()
            await asyncio.Event().wait()

        async def handle(d: Delivery) -> None:
            done.append(d.attempt)

        options = SubscribeOptions(group="kit", ack_wait=1.0)
        sub = await stuck.subscribe(subject, hang, options)
        await broker_publish(stuck, subject, 1)
        await asyncio.wait_for(taken.wait(), 10)
        await healthy.subscribe(subject, handle, options)
        await eventually(lambda: done == [2], 15, "redelivery after ack_wait")
        await sub.drain(timeout=0.1)

    async def test_at_least_once_when_a_consumer_is_killed(
        self, open_broker: OpenBroker, subject: str, broker_url: str
    ) -> None:
        total, ack_wait = 300, 2.0
        survivor = await open_broker()
        done: set[str] = set()

        async def handle(d: Delivery) -> None:
            await asyncio.sleep(0.02)
            done.add(d.data.decode())

        options = SubscribeOptions(group="crash", ack_wait=ack_wait, concurrency=8)
        published = {str(i) for i in range(total)}
        if not survivor.shared:
            victim = await open_broker()
            await victim.subscribe(subject, handle, options)
            for i in sorted(published, key=int):
                await survivor.publish(subject, i.encode())
            await eventually(lambda: len(done) >= 20, 10, "the victim's first messages")
            await self.crash(victim)
            victim_done: set[str] = set(done)
        else:
            victim_done = await self._kill_consumer_process(
                broker_url, subject, ack_wait, survivor, published
            )
        await survivor.subscribe(subject, handle, options)
        await eventually(lambda: published - victim_done <= done, 30, "every message handled")

    async def _kill_consumer_process(
        self,
        broker_url: str,
        subject: str,
        ack_wait: float,
        publisher: Broker,
        published: set[str],
    ) -> set[str]:
        # Popen rather than asyncio's subprocesses: its exit status is reliable under any loop.
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pywatt.comm.brokers._kit_consumer",
                broker_url,
                subject,
                "crash",
                str(ack_wait),
            ],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        readline = proc.stdout.readline
        victim_done: set[str] = set()
        try:
            line = await asyncio.wait_for(asyncio.to_thread(readline), 30)
            assert line.strip() == b"ready", line
            for i in sorted(published, key=int):
                await publisher.publish(subject, i.encode())
            while len(victim_done) < 20:
                line = await asyncio.wait_for(asyncio.to_thread(readline), 10)
                assert line, "the consumer process died before it was killed"
                victim_done.add(line.decode().strip())
            proc.send_signal(signal.SIGKILL)
            rest = await asyncio.to_thread(proc.stdout.read)
            victim_done |= {x for x in rest.decode().split() if x}
        finally:
            if proc.poll() is None:
                proc.kill()
            await asyncio.to_thread(proc.wait)
            proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        assert len(victim_done) < len(published), "the victim finished before it was killed"
        return victim_done

    # -- request / reply ------------------------------------------------------------------

    async def test_request_reply(self, open_broker: OpenBroker, subject: str) -> None:
        server, client = await open_broker(), await open_broker()
        rpc = f"{subject}.rpc"

        async def upper(data: bytes, headers: Any) -> bytes:
            suffix: str = headers.get("suffix", "")
            return data.upper() + suffix.encode()

        await server.reply(rpc, upper, group="svc")
        await asyncio.sleep(0.2)
        reply = await client.request(rpc, b"ping", {"suffix": "!"}, timeout=5)
        assert reply.data == b"PING!"
        answers = await asyncio.gather(
            *(client.request(rpc, str(i).encode(), timeout=5) for i in range(20))
        )
        assert [a.data for a in answers] == [str(i).encode() for i in range(20)]
        await _delete(server, f"rpc:{rpc}")

    async def test_request_times_out(self, open_broker: OpenBroker, subject: str) -> None:
        server, client = await open_broker(), await open_broker()
        slow = f"{subject}.slow"

        async def sleepy(data: bytes, headers: Any) -> bytes:
            await asyncio.sleep(3)
            return data

        await server.reply(slow, sleepy, group="svc")
        await asyncio.sleep(0.2)
        started = time.monotonic()
        with pytest.raises(BrokerTimeoutError):
            await client.request(slow, b"x", timeout=0.5)
        assert time.monotonic() - started < 2.5
        with pytest.raises(BrokerTimeoutError):
            await client.request(f"{subject}.nobody", b"x", timeout=0.5)
        await _delete(server, f"rpc:{slow}")
        await _delete(server, f"rpc:{subject}.nobody")

    # -- connections ----------------------------------------------------------------------

    async def test_dropped_connection_loses_no_acknowledged_message(
        self, open_broker: OpenBroker, subject: str
    ) -> None:
        broker = await open_broker()
        got: set[bytes] = set()
        acked: set[bytes] = set()

        async def handle(d: Delivery) -> None:
            got.add(d.data)

        await broker.subscribe(subject, handle, SubscribeOptions(group="kit", ack_wait=2.0))
        for i in range(100):
            if i == 50:
                await self.drop_connection(broker)
            deadline = time.monotonic() + 20
            while True:
                try:
                    await broker.publish(subject, str(i).encode())
                    acked.add(str(i).encode())
                    break
                except BrokerError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
        assert len(acked) == 100
        await eventually(lambda: acked <= got, 30, "every acknowledged message after the drop")


async def broker_publish(broker: Broker, subject: str, count: int) -> None:
    for i in range(count):
        await broker.publish(subject, str(i).encode())


async def _delete(broker: Broker, subject: str) -> None:
    delete = getattr(broker, "delete", None)
    if delete is not None:
        result = delete(subject)
        if inspect.isawaitable(result):
            await result
