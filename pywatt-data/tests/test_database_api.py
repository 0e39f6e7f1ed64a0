"""One suite, run against sqlite, PostgreSQL and MariaDB."""

from __future__ import annotations

import anyio
import pytest

from pywatt.data import (
    Database,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabaseParameterError,
    DatabaseQueryError,
    TransactionClosedError,
)

pytestmark = pytest.mark.anyio

PEOPLE = "id INTEGER PRIMARY KEY, name {text}, score INTEGER"


async def count(db: Database, table: str) -> int:
    return int(await db.fetch_value(f"SELECT COUNT(*) FROM {table}"))


async def test_execute_returns_rows_affected(db: Database, make_table):
    t = await make_table(PEOPLE)
    for i in range(1, 4):
        sql = f"INSERT INTO {t} (id, name, score) VALUES (:id, :name, :score)"
        assert await db.execute(sql, {"id": i, "name": f"p{i}", "score": i * 10}) == 1
    assert await db.execute(f"UPDATE {t} SET score = score + 1 WHERE id >= :lo", {"lo": 2}) == 2
    assert await db.execute(f"DELETE FROM {t} WHERE id = :id", {"id": 99}) == 0
    assert await db.execute(f"DELETE FROM {t} WHERE id = :id", {"id": 1}) == 1
    assert await count(db, t) == 2


async def test_fetch_one_all_and_value(db: Database, make_table):
    t = await make_table(PEOPLE)
    for i, name in enumerate(["ann", "bob", "cy"], start=1):
        await db.execute(
            f"INSERT INTO {t} (id, name, score) VALUES (:i, :n, :s)", {"i": i, "n": name, "s": i}
        )
    row = await db.fetch_one(f"SELECT id, name, score FROM {t} WHERE name = :n", {"n": "bob"})
    assert row == {"id": 2, "name": "bob", "score": 2}
    assert type(row) is dict
    assert await db.fetch_one(f"SELECT id FROM {t} WHERE id = :i", {"i": 42}) is None
    rows = await db.fetch_all(f"SELECT name, score FROM {t} ORDER BY id DESC")
    assert rows == [
        {"name": "cy", "score": 3},
        {"name": "bob", "score": 2},
        {"name": "ann", "score": 1},
    ]
    assert await db.fetch_all(f"SELECT name FROM {t} WHERE id > :i", {"i": 5}) == []
    assert await db.fetch_value(f"SELECT name FROM {t} WHERE id = :i", {"i": 3}) == "cy"
    assert await db.fetch_value(f"SELECT name FROM {t} WHERE id = :i", {"i": 7}) is None
    assert await db.fetch_value(f"SELECT SUM(score) FROM {t}") == 6


INJECTIONS = [
    "x'); DROP TABLE {t}; --",
    "' OR '1'='1",
    "Robert'); DELETE FROM {t} WHERE ('1'='1",
    "\\'; SELECT 1; --",
    ":name",
]


async def test_values_that_look_like_sql_are_bound_as_data(db: Database, make_table):
    t = await make_table(PEOPLE)
    await db.execute(f"INSERT INTO {t} (id, name, score) VALUES (0, 'keep', 0)")
    for i, raw in enumerate(INJECTIONS, start=1):
        value = raw.format(t=t)
        await db.execute(
            f"INSERT INTO {t} (id, name, score) VALUES (:i, :n, 0)", {"i": i, "n": value}
        )
        assert await db.fetch_value(f"SELECT name FROM {t} WHERE id = :i", {"i": i}) == value
    # The "always true" string matches nothing, and the table and its rows are intact.
    hits = await db.fetch_all(f"SELECT id FROM {t} WHERE name = :n", {"n": "nobody' OR '1'='1"})
    assert hits == []
    assert await count(db, t) == len(INJECTIONS) + 1


async def test_parameters_that_cannot_bind_are_rejected(db: Database, make_table):
    t = await make_table(PEOPLE)
    sql = f"SELECT id FROM {t} WHERE id = :id"
    with pytest.raises(DatabaseParameterError, match="mapping"):
        await db.fetch_all(sql, [1])  # type: ignore[arg-type]
    with pytest.raises(DatabaseParameterError, match="mapping"):
        await db.fetch_all(sql, (1,))  # type: ignore[arg-type]
    with pytest.raises(DatabaseParameterError, match=r"no value for placeholder.*id"):
        await db.fetch_all(sql, {})
    with pytest.raises(DatabaseParameterError, match=r"extra.*placeholder"):
        await db.fetch_all(sql, {"id": 1, "extra": 2})
    with pytest.raises(DatabaseParameterError, match=r"id.*placeholder"):
        await db.fetch_all(f"SELECT id FROM {t} WHERE id = ?", {"id": 1})
    with pytest.raises(DatabaseParameterError, match="str"):
        await db.execute(b"SELECT 1")  # type: ignore[arg-type]
    assert isinstance(DatabaseParameterError("x"), TypeError)


async def test_transaction_commits_on_success(db: Database, make_table):
    t = await make_table(PEOPLE)
    async with db.transaction() as tx:
        for i in range(3):
            await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (:i, 'a', 1)", {"i": i})
        assert await tx.fetch_value(f"SELECT COUNT(*) FROM {t}") == 3
        assert await tx.fetch_one(f"SELECT id FROM {t} WHERE id = 2") == {"id": 2}
        assert len(await tx.fetch_all(f"SELECT id FROM {t}")) == 3
    assert await count(db, t) == 3


async def test_exception_midway_rolls_back_every_write(db: Database, make_table):
    t = await make_table(PEOPLE)
    await db.execute(f"INSERT INTO {t} (id, name, score) VALUES (100, 'before', 1)")

    class Boom(Exception):
        pass

    async def write_then_fail() -> None:
        async with db.transaction() as tx:
            await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (1, 'a', 1)")
            await tx.execute(f"UPDATE {t} SET name = 'changed' WHERE id = 100")
            await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (2, 'b', 1)")
            raise Boom

    with pytest.raises(Boom):
        await write_then_fail()
    assert await db.fetch_all(f"SELECT id, name FROM {t}") == [{"id": 100, "name": "before"}]


async def test_cancelled_transaction_leaves_no_partial_write(db: Database, make_table):
    t = await make_table(PEOPLE)
    written = anyio.Event()

    async def writer() -> None:
        async with db.transaction() as tx:
            await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (1, 'a', 1)")
            await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (2, 'b', 1)")
            written.set()
            await anyio.sleep_forever()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(writer)
            await written.wait()
            tg.cancel_scope.cancel()
    assert await count(db, t) == 0
    # The pool is healthy afterwards: the connection came back clean.
    async with db.transaction() as tx:
        await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (3, 'c', 1)")
    assert await count(db, t) == 1


async def test_transaction_cannot_be_used_after_its_block(db: Database, make_table):
    t = await make_table(PEOPLE)
    async with db.transaction() as tx:
        await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (1, 'a', 1)")
    with pytest.raises(TransactionClosedError):
        await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (2, 'b', 1)")
    assert await count(db, t) == 1


async def test_unicode_and_binary_round_trip(db: Database, make_table, db_flavor):
    t = await make_table("id INTEGER PRIMARY KEY, label {text}, payload {blob}")
    label = "héllo ☃ 日本語 🎉 \u00a0 Ωμέγα"
    payload = bytes(range(256)) + b"\x00\xff\x00"
    await db.execute(
        f"INSERT INTO {t} (id, label, payload) VALUES (1, :l, :p)", {"l": label, "p": payload}
    )
    row = await db.fetch_one(f"SELECT label, payload FROM {t} WHERE id = 1")
    assert row is not None
    assert row["label"] == label
    assert db_flavor.bytes_of(row["payload"]) == payload
    assert await db.fetch_value(f"SELECT id FROM {t} WHERE label = :l", {"l": label}) == 1


async def test_nulls_round_trip(db: Database, make_table):
    t = await make_table("id INTEGER PRIMARY KEY, label {text}, payload {blob}, n INTEGER")
    await db.execute(
        f"INSERT INTO {t} (id, label, payload, n) VALUES (1, :l, :p, :n)",
        {"l": None, "p": None, "n": None},
    )
    assert await db.fetch_one(f"SELECT label, payload, n FROM {t}") == {
        "label": None,
        "payload": None,
        "n": None,
    }
    assert await db.fetch_value(f"SELECT COUNT(*) FROM {t} WHERE label IS NULL") == 1
    assert await db.fetch_value(f"SELECT n FROM {t} WHERE id = 1") is None


async def test_twenty_tasks_share_the_database(db: Database, make_table):
    t = await make_table(PEOPLE)
    seen: dict[int, object] = {}

    async def worker(i: int) -> None:
        if i % 2:
            async with db.transaction() as tx:
                await tx.execute(
                    f"INSERT INTO {t} (id, name, score) VALUES (:i, 'tx', :i)", {"i": i}
                )
                seen[i] = await tx.fetch_value(f"SELECT score FROM {t} WHERE id = :i", {"i": i})
        else:
            await db.execute(
                f"INSERT INTO {t} (id, name, score) VALUES (:i, 'plain', :i)", {"i": i}
            )
            seen[i] = await db.fetch_value(f"SELECT score FROM {t} WHERE id = :i", {"i": i})

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(worker, i)
    assert seen == {i: i for i in range(20)}
    assert await count(db, t) == 20
    assert await db.fetch_value(f"SELECT COUNT(*) FROM {t} WHERE name = 'tx'") == 10


async def test_ping_and_close(db_flavor, db_plugins):
    from pywatt.data import open_database

    db = open_database(db_flavor.url, plugins=db_plugins)
    assert await db.ping() is True
    await db.close()
    assert await db.ping() is False
    with pytest.raises(DatabaseConnectionError, match="closed"):
        await db.fetch_value("SELECT 1")


async def test_bad_sql_raises_typed_errors(db: Database, make_table):
    t = await make_table(PEOPLE)
    with pytest.raises(DatabaseQueryError) as syntax:
        await db.execute("SELEKT nonsense FROM")
    assert syntax.value.driver_message
    assert syntax.value.driver_message in str(syntax.value)
    with pytest.raises(DatabaseQueryError):
        await db.fetch_all("SELECT * FROM pw_no_such_table_here")
    await db.execute(f"INSERT INTO {t} (id, name, score) VALUES (1, 'a', 1)")
    with pytest.raises(DatabaseIntegrityError):
        await db.execute(f"INSERT INTO {t} (id, name, score) VALUES (1, 'again', 1)")

    # A failing statement inside a transaction is raised typed and undoes the transaction.
    async def insert_duplicate() -> None:
        async with db.transaction() as tx:
            await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (2, 'b', 1)")
            await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (1, 'dup', 1)")

    with pytest.raises(DatabaseIntegrityError):
        await insert_duplicate()
    assert await db.fetch_all(f"SELECT id FROM {t}") == [{"id": 1}]
    assert await db.ping() is True


async def test_a_name_inside_a_literal_never_receives_a_value(db: Database, make_table):
    """aiomysql pasted the quoted value into '%:q%', closing the literal: every row matched."""
    t = await make_table(PEOPLE)
    for i, name in enumerate(["ada", "bob"]):
        await db.execute(
            f"INSERT INTO {t} (id, name, score) VALUES (:i, :n, 1)", {"i": i, "n": name}
        )
    for hostile in (" OR 1=1 -- ", f" OR 1=1; DROP TABLE {t}; -- "):
        # Refused before or by the server, never bound inside the literal.
        with pytest.raises(DatabaseError):
            await db.fetch_all(f"SELECT id FROM {t} WHERE name LIKE '%:q%'", {"q": hostile})
    assert await db.fetch_value(f"SELECT COUNT(*) FROM {t}") == 2
