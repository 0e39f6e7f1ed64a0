"""Writes whose connection is killed under them: applied once, or reported as unknown.

A write is never retried, because the connection may have died during its commit, after the
server applied it (issue 9 item 8: MariaDB autocommit writes landed two to eleven times per run).
Only this session's own connections are killed: their ids are recorded as the pool opens them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import anyio
import pytest
from sqlalchemy import event

from pywatt.data import DatabaseError, DatabaseSettings, open_database
from pywatt.data.errors import DatabaseOutcomeUnknownError, OutcomeUnknownError

pytestmark = pytest.mark.anyio

WRITES = 300
WRITERS = 4

_SERVERS: dict[str, dict[str, str]] = {
    "postgres": {
        "whoami": "SELECT pg_backend_pid()",
        "busy": "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND pid = ANY(:ids)",
        "kill": "SELECT pg_terminate_backend({id})",
    },
    "mysql": {
        "whoami": "SELECT CONNECTION_ID()",
        "busy": "SELECT ID FROM information_schema.PROCESSLIST "
        "WHERE COMMAND = 'Query' AND ID IN ({ids})",
        "kill": "KILL {id}",
    },
}


def _record_connection_ids(db: Any, whoami: str, ids: set[int]) -> None:
    """Note the server-side id of every connection the pool opens: only those get killed."""

    @event.listens_for(db._engine.sync_engine, "connect")
    def _noted(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(whoami)
        ids.add(int(cursor.fetchone()[0]))
        cursor.close()


async def _busy(killer: Any, server: str, ids: set[int]) -> list[int]:
    sql = _SERVERS[server]["busy"]
    if server == "postgres":
        rows = await killer.fetch_all(sql, {"ids": sorted(ids)})
    else:
        rows = await killer.fetch_all(sql.format(ids=", ".join(map(str, sorted(ids)))))
    return [int(next(iter(row.values()))) for row in rows]


@pytest.mark.parametrize("server", ["postgres", "mysql"])
async def test_killed_writes_apply_once_or_raise_outcome_unknown(server, flavor_named, db_plugins):
    flavor = flavor_named(server)
    settings = DatabaseSettings(url=flavor.url, max_connections=WRITERS, min_connections=1)
    t = f"pw_{uuid.uuid4().hex[:12]}"
    ours: set[int] = set()
    outcome: dict[int, str] = {}
    kills = 0
    async with (
        open_database(settings, plugins=db_plugins) as db,
        open_database(flavor.url, plugins=db_plugins) as killer,
    ):
        _record_connection_ids(db, _SERVERS[server]["whoami"], ours)
        # No key: a write applied twice shows as a second row.
        await db.execute(flavor.ddl(t, "k INTEGER NOT NULL"))
        try:

            async def write(first: int) -> None:
                for k in range(first, WRITES, WRITERS):
                    try:
                        await db.execute(f"INSERT INTO {t} (k) VALUES (:k)", {"k": k})
                        outcome[k] = "acknowledged"
                    except DatabaseOutcomeUnknownError:
                        outcome[k] = "unknown"
                    except DatabaseError as exc:
                        outcome[k] = f"failed: {exc}"

            async def kill_while_busy(done: anyio.Event) -> None:
                nonlocal kills
                while not done.is_set():
                    for conn_id in await _busy(killer, server, ours) if ours else []:
                        try:
                            await killer.execute(_SERVERS[server]["kill"].format(id=conn_id))
                            kills += 1
                        except DatabaseError:
                            pass  # it ended first
                    await anyio.sleep(0.001)

            done = anyio.Event()
            async with anyio.create_task_group() as tg:
                tg.start_soon(kill_while_busy, done)
                async with anyio.create_task_group() as writers:
                    for first in range(WRITERS):
                        writers.start_soon(write, first)
                done.set()
            rows = await db.fetch_all(f"SELECT k FROM {t}")
        finally:
            await db.execute(f"DROP TABLE IF EXISTS {t}")
    applied = Counter(int(row["k"]) for row in rows)
    twice = {k: n for k, n in applied.items() if n > 1}
    assert twice == {}, f"writes applied more than once: {twice}"
    assert kills > 0
    assert sorted(outcome) == list(range(WRITES))
    others = {k: v for k, v in outcome.items() if v not in ("acknowledged", "unknown")}
    assert others == {}, "a lost write must say its outcome is unknown"
    unknown = [k for k, v in outcome.items() if v == "unknown"]
    assert unknown, f"{kills} kills, yet no write lost its connection"
    missing = [k for k, v in outcome.items() if v == "acknowledged" and applied[k] != 1]
    assert missing == []
    assert issubclass(DatabaseOutcomeUnknownError, OutcomeUnknownError)
