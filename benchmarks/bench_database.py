"""fetch_one through pywatt's Database vs raw SQLAlchemy Core on the same PostgreSQL.

Both sides run the same parameterized select on engines with the same pool settings, in
alternating rounds within one run, so the ratio shows only the API's own overhead.

    python benchmarks/bench_database.py [--seconds 1.0] [--rounds 5] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from _results import record
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from pywatt.core.plugins import build_plugins
from pywatt.data import Database, DatabaseSettings, open_database

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
FLOOR = 0.9
ROWS = 1000
BATCH = 25


async def timed_batch(op: Callable[[int], Awaitable[object]], start: int, size: int) -> float:
    t0 = time.perf_counter()
    for i in range(start, start + size):
        await op(i % ROWS)
    return time.perf_counter() - t0


async def compare(
    label: str, db: Database, engine: AsyncEngine, table: str, seconds: float, rounds: int
) -> float:
    sql = f"SELECT id, name FROM {table} WHERE id = :id"
    stmt = text(sql)

    async def pywatt_op(i: int) -> object:
        return await db.fetch_one(sql, {"id": i})

    async def raw_op(i: int) -> object:
        async with engine.connect() as conn:
            return (await conn.execute(stmt, {"id": i})).mappings().first()

    assert await pywatt_op(7) == {"id": 7, "name": "row-7"}
    assert dict(await raw_op(7)) == {"id": 7, "name": "row-7"}  # type: ignore[call-overload]
    for op in (pywatt_op, raw_op):  # warm both pools and statement caches
        await timed_batch(op, 0, BATCH)
    # Short batches, alternating sides, so load from elsewhere on the machine hits both alike.
    ours = raw = 0.0
    ops = 0
    deadline = time.perf_counter() + seconds * rounds * 2
    while time.perf_counter() < deadline:
        ours += await timed_batch(pywatt_op, ops, BATCH)
        raw += await timed_batch(raw_op, ops, BATCH)
        ops += BATCH
    ratio = raw / ours
    print(
        f"{label:<34} pywatt {ops / ours:>8.0f} ops/s   "
        f"raw SQLAlchemy {ops / raw:>8.0f} ops/s   ratio {ratio:.3f}   ({ops} ops each)"
    )
    record("database", label.strip(), ops / ours, ops / raw, "ops/s", ratio, aim=FLOOR)
    return ratio


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("PYWATT_BENCH_PG_URL", DEFAULT_URL))
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    parts = urlsplit(args.url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 2).close()
    except OSError:
        print(f"bench_database: PostgreSQL not reachable at {parts.hostname}:{parts.port}")
        return 1 if os.environ.get("CI", "").lower() == "true" else 0

    plugins = build_plugins(env={"PYWATT_LOAD_PLUGINS": "core,data"})
    table = f"pw_bench_{uuid.uuid4().hex[:8]}"
    raw_url = args.url.replace("postgresql://", "postgresql+asyncpg://", 1)
    ratios = []
    for pre_ping in (False, True):
        settings = DatabaseSettings(url=args.url, pre_ping=pre_ping)
        engine = create_async_engine(
            raw_url, pool_size=10, max_overflow=0, pool_timeout=30, pool_recycle=1800,
            pool_pre_ping=pre_ping,
        )  # fmt: skip
        async with open_database(settings, plugins=plugins) as db:
            if not ratios:
                await db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
                for i in range(ROWS):
                    await db.execute(
                        f"INSERT INTO {table} (id, name) VALUES (:i, :n)", {"i": i, "n": f"row-{i}"}
                    )
            try:
                label = f"fetch_one, pool_pre_ping={pre_ping}"
                ratios.append(await compare(label, db, engine, table, args.seconds, args.rounds))
            finally:
                await engine.dispose()
                if pre_ping:
                    await db.execute(f"DROP TABLE IF EXISTS {table}")
    worst = min(ratios)
    verdict = "ok" if worst >= FLOOR else "BELOW FLOOR"
    print(f"bench_database: worst ratio {worst:.3f} (floor {FLOOR}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
