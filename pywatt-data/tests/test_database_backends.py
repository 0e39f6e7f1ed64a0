"""What only one backend can show: lost connections, shared files, in-memory databases."""

from __future__ import annotations

import logging
import uuid

import anyio
import pytest

from pywatt.data import (
    DatabaseConnectionError,
    DatabaseSettings,
    DatabaseTimeoutError,
    open_database,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("pre_ping", [False, True])
async def test_postgres_recovers_after_its_connection_is_killed(
    pg_flavor, db_plugins, caplog, pre_ping
):
    settings = DatabaseSettings(
        url=pg_flavor.url, max_connections=1, min_connections=1, pre_ping=pre_ping
    )
    async with (
        open_database(settings, plugins=db_plugins) as db,
        open_database(pg_flavor.url, plugins=db_plugins) as killer,
    ):
        pid = await db.fetch_value("SELECT pg_backend_pid()")
        assert await killer.fetch_value("SELECT pg_terminate_backend(:p)", {"p": pid}) is True
        with caplog.at_level(logging.WARNING, logger="pywatt.data.database"):
            new_pid = await db.fetch_value("SELECT pg_backend_pid()")
        assert new_pid != pid
        retried = [r for r in caplog.records if "retrying the read once" in r.getMessage()]
        # Without pre-ping the dead connection is found by the statement, which is retried
        # once; with it, the pool replaces the connection before the statement runs.
        assert len(retried) == (0 if pre_ping else 1)


async def test_postgres_connection_lost_inside_a_transaction_is_not_retried(
    pg_flavor, db_plugins, make_table_pg
):
    settings = DatabaseSettings(url=pg_flavor.url, max_connections=2, min_connections=1)
    async with (
        open_database(settings, plugins=db_plugins) as db,
        open_database(pg_flavor.url, plugins=db_plugins) as killer,
    ):
        t = await make_table_pg(db, "id INTEGER PRIMARY KEY")

        async def write_and_lose_connection() -> None:
            async with db.transaction() as tx:
                await tx.execute(f"INSERT INTO {t} (id) VALUES (1)")
                pid = await tx.fetch_value("SELECT pg_backend_pid()")
                await killer.execute("SELECT pg_terminate_backend(:p)", {"p": pid})
                await tx.execute(f"INSERT INTO {t} (id) VALUES (2)")

        with pytest.raises(DatabaseConnectionError, match="lost the connection"):
            await write_and_lose_connection()
        assert await db.fetch_value(f"SELECT COUNT(*) FROM {t}") == 0


async def test_mysql_recovers_after_its_connection_is_killed(mysql_flavor, db_plugins, caplog):
    settings = DatabaseSettings(
        url=mysql_flavor.url, max_connections=1, min_connections=1, pre_ping=False
    )
    async with (
        open_database(settings, plugins=db_plugins) as db,
        open_database(mysql_flavor.url, plugins=db_plugins) as killer,
    ):
        conn_id = await db.fetch_value("SELECT CONNECTION_ID()")
        await killer.execute(f"KILL {int(conn_id)}")
        with caplog.at_level(logging.WARNING, logger="pywatt.data.database"):
            assert await db.fetch_value("SELECT CONNECTION_ID()") != conn_id
        assert any("retrying the read once" in r.getMessage() for r in caplog.records)


async def test_unreachable_server_is_a_connection_error_without_the_password(db_plugins):
    url = "postgresql://postgres:s3cr3t-pw@127.0.0.1:1/test"
    db = open_database(url, plugins=db_plugins)
    with pytest.raises(DatabaseConnectionError) as info:
        await db.fetch_value("SELECT 1")
    assert "127.0.0.1:1" in str(info.value)
    assert "s3cr3t-pw" not in str(info.value)
    assert "s3cr3t-pw" not in repr(db.settings)  # type: ignore[attr-defined]
    assert "s3cr3t-pw" not in db.url  # type: ignore[attr-defined]
    assert await db.ping() is False
    await db.close()


async def test_mysql_rejected_password_is_not_echoed(mysql_flavor, db_plugins):
    url = mysql_flavor.url.replace("root@", "pywatt_nobody:hunter2-secret@")
    with pytest.raises(DatabaseConnectionError) as info:
        async with open_database(url, plugins=db_plugins):
            pass
    assert "hunter2-secret" not in str(info.value)
    assert "hunter2-secret" not in (info.value.driver_message or "")
    assert "***" in str(info.value)


async def test_pool_acquire_timeout_is_a_typed_error(pg_flavor, db_plugins):
    settings = DatabaseSettings(
        url=pg_flavor.url, max_connections=1, min_connections=1, acquire_timeout=0.3
    )
    async with open_database(settings, plugins=db_plugins) as db, db.transaction() as tx:
        assert await tx.fetch_value("SELECT 1") == 1
        with anyio.fail_after(10), pytest.raises(DatabaseTimeoutError, match=r"0\.3 s"):
            await db.fetch_value("SELECT 2")


async def test_sqlite_file_is_shared_by_two_databases(tmp_path, db_plugins):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    async with (
        open_database(url, plugins=db_plugins) as a,
        open_database(url, plugins=db_plugins) as b,
    ):
        await a.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        await a.execute("INSERT INTO notes (id, body) VALUES (1, :b)", {"b": "from a"})
        assert await b.fetch_value("SELECT body FROM notes WHERE id = 1") == "from a"
        async with b.transaction() as tx:
            await tx.execute("INSERT INTO notes (id, body) VALUES (2, 'from b')")
        assert await a.fetch_all("SELECT id FROM notes ORDER BY id") == [{"id": 1}, {"id": 2}]
    # The file outlives both databases.
    async with open_database(url, plugins=db_plugins) as c:
        assert await c.fetch_value("SELECT COUNT(*) FROM notes") == 2


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
async def test_sqlite_memory_keeps_its_data_across_calls_and_tasks(url, db_plugins):
    async with open_database(url, plugins=db_plugins) as db:
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")

        async def insert(i: int) -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t (id) VALUES (:i)", {"i": i})

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(insert, i)
        assert await db.fetch_value("SELECT COUNT(*) FROM t") == 20
    # A fresh in-memory database is empty.
    async with open_database(url, plugins=db_plugins) as fresh:
        assert await fresh.fetch_value("SELECT COUNT(*) FROM sqlite_master") == 0


@pytest.mark.parametrize(
    ("flavor", "sleep_sql"),
    [("pg_flavor", "SELECT pg_sleep(5)"), ("mysql_flavor", "SELECT SLEEP(5)")],
)
async def test_cancelling_a_running_statement_in_a_transaction_keeps_nothing(
    flavor, sleep_sql, request, db_plugins
):
    url = request.getfixturevalue(flavor).url
    settings = DatabaseSettings(url=url, max_connections=2, min_connections=1)
    async with open_database(settings, plugins=db_plugins) as db:
        t = f"pw_{uuid.uuid4().hex[:12]}"
        await db.execute(f"CREATE TABLE {t} (id INTEGER PRIMARY KEY)")
        try:
            started = anyio.Event()

            async def writer() -> None:
                async with db.transaction() as tx:
                    await tx.execute(f"INSERT INTO {t} (id) VALUES (1)")
                    await tx.execute(f"INSERT INTO {t} (id) VALUES (2)")
                    started.set()
                    await tx.fetch_value(sleep_sql)
                    await tx.execute(f"INSERT INTO {t} (id) VALUES (3)")

            # The deadline is well under the statement's 5 s: cancelling must not wait it out.
            with anyio.fail_after(4):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(writer)
                    await started.wait()
                    await anyio.sleep(0.2)
                    tg.cancel_scope.cancel()
            assert await db.fetch_value(f"SELECT COUNT(*) FROM {t}") == 0
            # Both pool slots still work.
            async with db.transaction() as tx:
                await tx.execute(f"INSERT INTO {t} (id) VALUES (4)")
                assert await db.fetch_value("SELECT 1") == 1
        finally:
            await db.execute(f"DROP TABLE IF EXISTS {t}")


@pytest.mark.parametrize(
    ("flavor", "sleep_sql"),
    [("pg_flavor", "SELECT pg_sleep(5)"), ("mysql_flavor", "SELECT SLEEP(5)")],
)
async def test_cancelled_statement_gives_its_connection_back(
    flavor, sleep_sql, request, db_plugins
):
    url = request.getfixturevalue(flavor).url
    settings = DatabaseSettings(url=url, max_connections=1, min_connections=1, acquire_timeout=3)
    async with open_database(settings, plugins=db_plugins) as db:
        with anyio.move_on_after(0.3) as scope:
            await db.fetch_value(sleep_sql)
        assert scope.cancelled_caught
        # With a pool of one, this only works if the cancelled call released its slot.
        with anyio.fail_after(4):
            assert await db.fetch_value("SELECT 1") == 1


async def test_sqlite_transaction_reads_are_part_of_the_transaction(tmp_path, db_plugins):
    url = f"sqlite:///{tmp_path / 'iso.db'}"
    count = "SELECT COUNT(*) FROM t"
    async with (
        open_database(url, plugins=db_plugins) as a,
        open_database(url, plugins=db_plugins) as b,
    ):
        await a.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        first_read = anyio.Event()
        seen: list[int] = []

        async def reader() -> None:
            async with a.transaction() as tx:
                seen.append(await tx.fetch_value(count))
                first_read.set()
                await anyio.sleep(0.3)
                seen.append(await tx.fetch_value(count))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(reader)
                await first_read.wait()
                # If BEGIN were deferred to the first write, this insert would commit at once
                # and land between the reader's two reads; instead it waits for the reader.
                await b.execute("INSERT INTO t (id) VALUES (1)")
        assert seen == [0, 0]
        assert await a.fetch_value(count) == 1
