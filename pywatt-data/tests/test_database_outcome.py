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

WRITES = 200
WRITERS = 4
ROUNDS = 5

_SERVERS: dict[str, dict[str, str]] = {
    "postgres": {
        "whoami": "SELECT pg_backend_pid()",
        "busy": "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND pid = ANY(:ids)",
        "kill": "SELECT pg_terminate_backend({id})",
        # The write holds the server a few ms, so a kill can land inside it, not only between.
        "insert": "INSERT INTO {t} (k) SELECT :k FROM (SELECT pg_sleep(0.004)) AS s",
    },
    "mysql": {
        "whoami": "SELECT CONNECTION_ID()",
        "busy": "SELECT ID FROM information_schema.PROCESSLIST "
        "WHERE COMMAND = 'Query' AND ID IN ({ids})",
        "kill": "KILL {id}",
        "insert": "INSERT INTO {t} (k) SELECT :k FROM (SELECT SLEEP(0.004)) AS s",
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


async def _writes_under_kills(db: Any, killer: Any, server: str, ours: set[int]) -> None:
    """Rounds of writes under kills until a kill lands inside a write (timing decides that).

    Every round must apply each acknowledged write exactly once and none twice; at least one
    round must also see a write lose its connection, or the test proved nothing.
    """
    seen = []
    for _ in range(ROUNDS):
        kills, unknown = await _round(db, killer, server, ours)
        seen.append((kills, unknown))
        if unknown:
            return
    raise AssertionError(
        f"no write lost its connection in {ROUNDS} rounds: (kills, unknown) {seen}"
    )


async def _round(db: Any, killer: Any, server: str, ours: set[int]) -> tuple[int, int]:
    """WRITES inserts from WRITERS tasks while this session's busy connections are killed."""
    t = f"pw_{uuid.uuid4().hex[:12]}"
    outcome: dict[int, str] = {}
    kills = 0
    ddl = f"CREATE TABLE {t} (k INTEGER NOT NULL)"  # no key: a repeat shows as a second row
    await db.execute(ddl)
    try:

        async def write(first: int) -> None:
            for k in range(first, WRITES, WRITERS):
                try:
                    await db.execute(_SERVERS[server]["insert"].format(t=t), {"k": k})
                    outcome[k] = "acknowledged"
                except DatabaseOutcomeUnknownError:
                    outcome[k] = "unknown"
                except DatabaseError as exc:
                    outcome[k] = f"{type(exc).__name__}: {exc}"

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
        rows = await killer.fetch_all(f"SELECT k FROM {t}")
    finally:
        await killer.execute(f"DROP TABLE IF EXISTS {t}")
    applied = Counter(int(row["k"]) for row in rows)
    twice = {k: n for k, n in applied.items() if n > 1}
    assert twice == {}, f"writes applied more than once: {twice}"
    assert sorted(outcome) == list(range(WRITES))
    others = {k: v for k, v in outcome.items() if v not in ("acknowledged", "unknown")}
    assert others == {}, "a lost write must say its outcome is unknown"
    unknown = [k for k, v in outcome.items() if v == "unknown"]
    missing = [k for k, v in outcome.items() if v == "acknowledged" and applied[k] != 1]
    assert missing == []
    return kills, len(unknown)


@pytest.mark.parametrize("server", ["postgres", "mysql"])
async def test_killed_writes_apply_once_or_raise_outcome_unknown(server, flavor_named, db_plugins):
    flavor = flavor_named(server)
    settings = DatabaseSettings(url=flavor.url, max_connections=WRITERS, min_connections=1)
    ours: set[int] = set()
    async with (
        open_database(settings, plugins=db_plugins) as db,
        open_database(flavor.url, plugins=db_plugins) as killer,
    ):
        _record_connection_ids(db, _SERVERS[server]["whoami"], ours)
        await _writes_under_kills(db, killer, server, ours)
    assert issubclass(DatabaseOutcomeUnknownError, OutcomeUnknownError)


@pytest.mark.parametrize("server", ["postgres", "mysql"])
async def test_proxy_writes_killed_in_the_orchestrator_apply_once_or_raise_outcome_unknown(
    server, flavor_named, serve_flavor, db_plugins
):
    """The same through the dev orchestrator: its database's connections are killed."""
    flavor = flavor_named(f"proxy-{server}")
    ours: set[int] = set()
    async with (
        serve_flavor(flavor) as backends,
        open_database(flavor.url) as db,
        open_database(flavor.served_url, plugins=db_plugins) as killer,
    ):
        await db.connect()  # the orchestrator opens its database now, before any statement
        _record_connection_ids(backends._database, _SERVERS[server]["whoami"], ours)
        await _writes_under_kills(db, killer, server, ours)
