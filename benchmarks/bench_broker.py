"""Publish + consume throughput of 1 KiB messages: pywatt's brokers vs raw nats-py / redis.asyncio.

Each round publishes N messages one awaited, acknowledged publish at a time while one
consumer in a group fetches up to 64 at a time and acks each. The pywatt side goes through
``broker_for_url`` (the registry, ``PullConsumer``, ``Delivery``); the raw side does the same
with the client library directly (JetStream pull consumer; XADD / XREADGROUP / XACK, on the
same bounded connection pool), on the same server, in pairs of rounds alternating who goes
first. Ratio = pywatt msgs/s / raw msgs/s (1.0 = as fast as raw).

    python benchmarks/bench_broker.py [--messages 2000] [--rounds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

from _results import record

from pywatt.core.brokers import Delivery, SubscribeOptions, broker_for_url
from pywatt.core.plugins import build_plugins

NATS_URL = "nats://127.0.0.1:4222"
REDIS_URL = "redis://127.0.0.1:6379/0"
PAYLOAD = os.urandom(1024)
BATCH = 64
FLOOR = 0.85

Round = Callable[[int], Awaitable[float]]
PLUGINS = build_plugins(env={"PYWATT_LOAD_PLUGINS": "core,comm"})


def reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), 2).close()
        return True
    except OSError:
        return False


async def pywatt_round(url: str, n: int) -> float:
    broker = broker_for_url(url, PLUGINS)
    await broker.connect()
    subject = f"pwbench.{uuid.uuid4().hex[:10]}"
    got = 0
    done = asyncio.Event()

    async def handle(d: Delivery) -> None:
        nonlocal got
        got += 1
        if got == n:
            done.set()

    try:
        start = time.perf_counter()
        await broker.subscribe(subject, handle, SubscribeOptions(group="bench", concurrency=BATCH))
        for _ in range(n):
            await broker.publish(subject, PAYLOAD)
        await asyncio.wait_for(done.wait(), 120)
        return n / (time.perf_counter() - start)
    finally:
        await broker.aclose()
        cleaner = broker_for_url(url, PLUGINS)
        await cleaner.connect()
        await cleaner.delete(subject)  # type: ignore[attr-defined]
        await cleaner.aclose()


async def raw_nats_round(n: int) -> float:
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    name = f"PWBENCH_{uuid.uuid4().hex[:10]}"
    subject = f"pwbench.raw.{name}"
    got = 0
    try:
        start = time.perf_counter()
        await js.add_stream(name=name, subjects=[subject])
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30, max_deliver=-1)
        psub = await js.pull_subscribe(subject, durable="bench", stream=name, config=config)

        async def consume() -> None:
            nonlocal got
            while got < n:
                try:
                    msgs = await psub.fetch(BATCH, timeout=0.5)
                except (nats.errors.TimeoutError, asyncio.TimeoutError):
                    continue
                for msg in msgs:
                    await msg.ack()
                    got += 1

        consumer = asyncio.create_task(consume())
        for _ in range(n):
            await js.publish(subject, PAYLOAD, stream=name)
        await asyncio.wait_for(consumer, 120)
        return n / (time.perf_counter() - start)
    finally:
        await js.delete_stream(name)
        await nc.close()


async def raw_redis_round(n: int) -> float:
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.exceptions import ResponseError

    # The pool RedisStreamsBroker uses (bounded, waiting): the ratio measures the API alone.
    redis = Redis.from_pool(BlockingConnectionPool.from_url(REDIS_URL, max_connections=64))
    key = f"pwbench:raw:{uuid.uuid4().hex[:10]}"
    got = 0
    try:
        start = time.perf_counter()
        with contextlib.suppress(ResponseError):
            await redis.xgroup_create(key, "bench", id="0", mkstream=True)

        async def consume() -> None:
            nonlocal got
            while got < n:
                streams = await redis.xreadgroup("bench", "c1", {key: ">"}, count=BATCH, block=500)
                for _key, entries in streams or []:
                    for entry_id, _fields in entries:
                        await redis.xack(key, "bench", entry_id)
                        got += 1

        consumer = asyncio.create_task(consume())
        for _ in range(n):
            await redis.xadd(key, {"d": PAYLOAD}, maxlen=1_000_000, approximate=True)
        await asyncio.wait_for(consumer, 120)
        return n / (time.perf_counter() - start)
    finally:
        await redis.delete(key)
        await redis.aclose()


async def compare(label: str, ours: Round, raw: Round, n: int, rounds: int) -> float:
    await ours(200)  # warm both paths
    await raw(200)
    mine, theirs = [], []
    for i in range(rounds):
        # Alternate who goes first: on a shared machine the second of a pair is often slower.
        if i % 2:
            theirs.append(await raw(n))
            mine.append(await ours(n))
        else:
            mine.append(await ours(n))
            theirs.append(await raw(n))
    ratio = statistics.median(m / t for m, t in zip(mine, theirs, strict=True))
    print(
        f"{label:<14} pywatt {statistics.median(mine):>7.0f} msg/s   "
        f"raw {statistics.median(theirs):>7.0f} msg/s   median ratio of pairs {ratio:.3f}"
    )
    record(
        "broker",
        f"{label} publish+consume 1 KiB",
        statistics.median(mine),
        statistics.median(theirs),
        "msg/s",
        ratio,
        aim=FLOOR,
    )
    return ratio


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    ci = os.environ.get("CI", "").lower() == "true"
    ratios = []
    if reachable("127.0.0.1", 4222):

        async def ours_nats(n: int) -> float:
            return await pywatt_round(NATS_URL, n)

        ratios.append(await compare("nats", ours_nats, raw_nats_round, args.messages, args.rounds))
    else:
        print("bench_broker: NATS not reachable at 127.0.0.1:4222")
        if ci:
            return 1
    if reachable("127.0.0.1", 6379):

        async def ours_redis(n: int) -> float:
            return await pywatt_round(REDIS_URL, n)

        ratios.append(
            await compare("redis-streams", ours_redis, raw_redis_round, args.messages, args.rounds)
        )
    else:
        print("bench_broker: Redis not reachable at 127.0.0.1:6379")
        if ci:
            return 1
    if ratios:
        worst = min(ratios)
        verdict = "ok" if worst >= FLOOR else "BELOW FLOOR"
        print(f"bench_broker: worst ratio {worst:.3f} (floor {FLOOR}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
