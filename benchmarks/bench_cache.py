"""get/set through pywatt's Redis cache vs raw ``redis.asyncio`` on the same Redis server.

Both clients use the same pool size, timeouts and driver retries and run one awaited command at a
time, in alternating rounds within one run, so the ratio (pywatt/raw, 1.0 = as fast as raw)
shows only the cache API's own overhead: key checks, the namespace prefix, the counters.

    python benchmarks/bench_cache.py [--seconds 1.0] [--rounds 5] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from _results import record
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from pywatt.core.plugins import build_plugins
from pywatt.data import Cache, open_cache

DEFAULT_URL = "redis://127.0.0.1:6379/0"
FLOOR = 0.9
KEYS = 1000
VALUE = bytes(range(256))


async def ops_per_second(op: Callable[[int], Awaitable[object]], seconds: float) -> float:
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            await op(n % KEYS)
            n += 1
    return n / (time.perf_counter() - start)


async def compare(
    label: str,
    ours_op: Callable[[int], Awaitable[object]],
    raw_op: Callable[[int], Awaitable[object]],
    seconds: float,
    rounds: int,
) -> float:
    for op in (ours_op, raw_op):  # warm both pools
        await ops_per_second(op, 0.2)
    ours, raw = [], []
    for _ in range(rounds):
        ours.append(await ops_per_second(ours_op, seconds))
        raw.append(await ops_per_second(raw_op, seconds))
    ratio = statistics.median(ours) / statistics.median(raw)
    print(
        f"{label:<6} pywatt {statistics.median(ours):>8.0f} ops/s   "
        f"raw redis.asyncio {statistics.median(raw):>8.0f} ops/s   ratio {ratio:.3f}"
    )
    record(
        "cache",
        f"Redis {label}",
        statistics.median(ours),
        statistics.median(raw),
        "ops/s",
        ratio,
        aim=FLOOR,
    )
    return ratio


def raw_client(url: str) -> aioredis.Redis:
    """The same pool settings RedisCacheConfig's defaults give the pywatt side, whose driver
    never resends (pywatt itself retries idempotent commands only)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=10,
        timeout=10.0,
        socket_timeout=5.0,
        socket_connect_timeout=5.0,
        retry=Retry(NoBackoff(), 0),
    )
    return aioredis.Redis(connection_pool=pool)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("PYWATT_BENCH_REDIS_URL", DEFAULT_URL))
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    parts = urlsplit(args.url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2).close()
    except OSError:
        print(f"bench_cache: Redis not reachable at {parts.hostname}:{parts.port}")
        return 1 if os.environ.get("CI", "").lower() == "true" else 0

    plugins = build_plugins(env={"PYWATT_LOAD_PLUGINS": "core,data"})
    namespace = f"pwbench-{uuid.uuid4().hex[:8]}"
    cache: Cache = open_cache(args.url, namespace=namespace, plugins=plugins)
    raw = raw_client(args.url)
    keys = [f"k{i}" for i in range(KEYS)]
    raw_keys = [f"{namespace}:raw:{k}" for k in keys]
    try:

        async def ours_set(i: int) -> object:
            return await cache.set(keys[i], VALUE)

        async def raw_set(i: int) -> object:
            return await raw.set(raw_keys[i], VALUE)

        async def ours_get(i: int) -> object:
            return await cache.get(keys[i])

        async def raw_get(i: int) -> object:
            return await raw.get(raw_keys[i])

        ratios = [await compare("set", ours_set, raw_set, args.seconds, args.rounds)]
        assert await cache.get(keys[7]) == VALUE
        assert await raw.get(raw_keys[7]) == VALUE
        ratios.append(await compare("get", ours_get, raw_get, args.seconds, args.rounds))
    finally:
        await cache.flush()
        await cache.close()
        await raw.aclose(close_connection_pool=True)
    worst = min(ratios)
    verdict = "ok" if worst >= FLOOR else "BELOW FLOOR"
    print(f"bench_cache: worst ratio {worst:.3f} (floor {FLOOR}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
