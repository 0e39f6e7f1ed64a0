"""A conformance kit for database backends: subclass :class:`DatabaseConformance` in a test module.

::

    import pytest
    from pywatt.data import open_database
    from pywatt.data.testing import DatabaseConformance, DatabaseTraits

    class TestAcmeDatabase(DatabaseConformance):
        @pytest.fixture
        def database_traits(self) -> DatabaseTraits:
            return DatabaseTraits(backend="acme", text="VARCHAR(255)", blob="BYTEA")

        @pytest.fixture
        def open_test_database(self, database_plugins):
            return lambda: open_database("acme://127.0.0.1/test", plugins=database_plugins)

``open_test_database`` returns a callable that builds a new, not yet connected
:class:`~pywatt.data.Database`; the kit opens it with ``async with`` and closes it. The suite
covers the database contract: ``execute`` and its row counts, ``fetch_one``/``fetch_all``/
``fetch_value``, ``:name`` parameters bound as data (never pasted into the SQL, not even inside
a literal), parameters that cannot bind, transactions that commit, roll back on an exception
or a cancellation, and refuse use after their block, Unicode and every byte value, NULLs,
twenty tasks sharing one database, ``ping``/``close``, and the typed errors
(:class:`~pywatt.data.DatabaseQueryError`, :class:`~pywatt.data.DatabaseIntegrityError`,
:class:`~pywatt.data.DatabaseParameterError`, :class:`~pywatt.data.TransactionClosedError`).
Every table it makes has a fresh uuid name and is dropped afterwards, so runs against a shared
server never collide. pywatt's own backends (sqlite, postgres, mysql and the ``proxy`` flavors)
run through this same class.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from pywatt.core.plugins import Plugins, get_plugins
from pywatt.data import (
    Database,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabaseParameterError,
    DatabaseQueryError,
    TransactionClosedError,
)

__all__ = ["DatabaseConformance", "DatabaseTraits"]

#: ``make_table`` columns: ``{text}`` and ``{blob}`` stand for the backend's column types.
PEOPLE = "id INTEGER PRIMARY KEY, name {text}, score INTEGER"

MakeTable = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class DatabaseTraits:
    """What the kit needs to know about a backend's SQL, and what may legitimately differ.

    :param backend: the name the database reports as ``Database.backend``.
    :param text: the column type for short Unicode text (``VARCHAR(255)`` on MySQL).
    :param blob: the column type for bytes (``BYTEA`` on PostgreSQL, ``LONGBLOB`` on MySQL).
    :param table_options: appended to ``CREATE TABLE (...)`` (``ENGINE=InnoDB ...``).
    :param blobs_as_base64: bytes come back as base64 text, for a backend whose wire has no
        bytes type (pywatt's ``proxy://``); otherwise they must come back as ``bytes``.
    """

    backend: str
    text: str = "TEXT"
    blob: str = "BLOB"
    table_options: str = ""
    blobs_as_base64: bool = False

    def ddl(self, table: str, columns: str) -> str:
        """``CREATE TABLE`` for ``columns``, with ``{text}``/``{blob}`` filled in."""
        cols = columns.format(text=self.text, blob=self.blob)
        return f"CREATE TABLE {table} ({cols}){self.table_options}"

    def bytes_of(self, value: object) -> bytes:
        """A blob column's value as read back, as bytes."""
        if self.blobs_as_base64:
            assert isinstance(value, str), f"expected base64 text, got {type(value).__name__}"
            return base64.b64decode(value)
        assert isinstance(value, bytes), f"expected bytes, got {type(value).__name__}"
        return value


async def _count(db: Database, table: str) -> int:
    return int(await db.fetch_value(f"SELECT COUNT(*) FROM {table}"))


INJECTIONS = [
    "x'); DROP TABLE {t}; --",
    "' OR '1'='1",
    "Robert'); DELETE FROM {t} WHERE ('1'='1",
    "\\'; SELECT 1; --",
    ":name",
]


class DatabaseConformance:
    """The behaviour every database backend must have. Subclasses provide two fixtures:
    ``database_traits`` (a :class:`DatabaseTraits`) and ``open_test_database``
    (``() -> Database``, not yet connected).
    """

    pytestmark = pytest.mark.anyio

    @pytest.fixture
    def database_plugins(self) -> Plugins:
        """The plugins databases are opened with (the process-wide ones unless overridden)."""
        return get_plugins()

    @pytest.fixture
    async def database(self, open_test_database: Callable[[], Database]) -> AsyncIterator[Database]:
        async with open_test_database() as db:
            yield db

    @pytest.fixture
    async def make_table(
        self, database: Database, database_traits: DatabaseTraits
    ) -> AsyncIterator[MakeTable]:
        """``await make_table(columns)``: a uniquely named table, dropped after the test."""
        made: list[str] = []

        async def create(columns: str) -> str:
            table = f"pwkit_{uuid.uuid4().hex[:12]}"
            await database.execute(database_traits.ddl(table, columns))
            made.append(table)
            return table

        yield create
        for table in made:
            await database.execute(f"DROP TABLE IF EXISTS {table}")

    async def test_it_is_a_database_of_its_backend(
        self, database: Database, database_traits: DatabaseTraits
    ) -> None:
        assert isinstance(database, Database)
        assert database.backend == database_traits.backend
        assert await database.ping() is True
        assert await database.fetch_value("SELECT 1") == 1

    async def test_execute_returns_rows_affected(
        self, database: Database, make_table: MakeTable
    ) -> None:
        db, t = database, await make_table(PEOPLE)
        for i in range(1, 4):
            sql = f"INSERT INTO {t} (id, name, score) VALUES (:id, :name, :score)"
            assert await db.execute(sql, {"id": i, "name": f"p{i}", "score": i * 10}) == 1
        assert await db.execute(f"UPDATE {t} SET score = score + 1 WHERE id >= :lo", {"lo": 2}) == 2
        assert await db.execute(f"DELETE FROM {t} WHERE id = :id", {"id": 99}) == 0
        assert await db.execute(f"DELETE FROM {t} WHERE id = :id", {"id": 1}) == 1
        assert await _count(db, t) == 2

    async def test_fetch_one_all_and_value(self, database: Database, make_table: MakeTable) -> None:
        db, t = database, await make_table(PEOPLE)
        for i, name in enumerate(["ann", "bob", "cy"], start=1):
            await db.execute(
                f"INSERT INTO {t} (id, name, score) VALUES (:i, :n, :s)",
                {"i": i, "n": name, "s": i},
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

    async def test_values_that_look_like_sql_are_bound_as_data(
        self, database: Database, make_table: MakeTable
    ) -> None:
        db, t = database, await make_table(PEOPLE)
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
        assert await _count(db, t) == len(INJECTIONS) + 1

    async def test_a_name_inside_a_literal_never_receives_a_value(
        self, database: Database, make_table: MakeTable
    ) -> None:
        # A driver that quotes values into the SQL text pastes them inside '%:q%' too,
        # closing the literal: every row would match.
        db, t = database, await make_table(PEOPLE)
        for i, name in enumerate(["ada", "bob"]):
            await db.execute(
                f"INSERT INTO {t} (id, name, score) VALUES (:i, :n, 1)", {"i": i, "n": name}
            )
        for hostile in (" OR 1=1 -- ", f" OR 1=1; DROP TABLE {t}; -- "):
            # Refused before or by the server, never bound inside the literal.
            with pytest.raises(DatabaseError):
                await db.fetch_all(f"SELECT id FROM {t} WHERE name LIKE '%:q%'", {"q": hostile})
        assert await _count(db, t) == 2

    async def test_parameters_that_cannot_bind_are_rejected(
        self, database: Database, make_table: MakeTable
    ) -> None:
        db, t = database, await make_table(PEOPLE)
        loose: Any = db  # wrong types on purpose: the errors are the test
        sql = f"SELECT id FROM {t} WHERE id = :id"
        for positional in ([1], (1,)):
            with pytest.raises(DatabaseParameterError):
                await loose.fetch_all(sql, positional)
        with pytest.raises(DatabaseParameterError, match="id"):
            await db.fetch_all(sql, {})  # a placeholder with no value
        with pytest.raises(DatabaseParameterError, match="extra"):
            await db.fetch_all(sql, {"id": 1, "extra": 2})  # a value with no placeholder
        with pytest.raises(DatabaseParameterError, match="id"):
            await db.fetch_all(f"SELECT id FROM {t} WHERE id = ?", {"id": 1})
        with pytest.raises(DatabaseParameterError):
            await loose.execute(b"SELECT 1")
        assert issubclass(DatabaseParameterError, TypeError)

    async def test_transaction_commits_on_success(
        self, database: Database, make_table: MakeTable
    ) -> None:
        db, t = database, await make_table(PEOPLE)
        async with db.transaction() as tx:
            for i in range(3):
                await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (:i, 'a', 1)", {"i": i})
            assert await tx.fetch_value(f"SELECT COUNT(*) FROM {t}") == 3
            assert await tx.fetch_one(f"SELECT id FROM {t} WHERE id = 2") == {"id": 2}
            assert len(await tx.fetch_all(f"SELECT id FROM {t}")) == 3
        assert await _count(db, t) == 3

    async def test_exception_midway_rolls_back_every_write(
        self, database: Database, make_table: MakeTable
    ) -> None:
        db, t = database, await make_table(PEOPLE)
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

    async def test_cancelled_transaction_leaves_no_partial_write(
        self, database: Database, make_table: MakeTable
    ) -> None:
        db, t = database, await make_table(PEOPLE)
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
        assert await _count(db, t) == 0
        # The database is healthy afterwards: the connection came back clean.
        async with db.transaction() as tx:
            await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (3, 'c', 1)")
        assert await _count(db, t) == 1

    async def test_a_failing_statement_undoes_its_transaction(
        self, database: Database, make_table: MakeTable
    ) -> None:
        db, t = database, await make_table(PEOPLE)
        await db.execute(f"INSERT INTO {t} (id, name, score) VALUES (1, 'a', 1)")

        async def insert_duplicate() -> None:
            async with db.transaction() as tx:
                await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (2, 'b', 1)")
                await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (1, 'dup', 1)")

        with pytest.raises(DatabaseIntegrityError):
            await insert_duplicate()
        assert await db.fetch_all(f"SELECT id FROM {t}") == [{"id": 1}]
        assert await db.ping() is True

    async def test_transaction_cannot_be_used_after_its_block(
        self, database: Database, make_table: MakeTable
    ) -> None:
        db, t = database, await make_table(PEOPLE)
        async with db.transaction() as tx:
            await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (1, 'a', 1)")
        with pytest.raises(TransactionClosedError):
            await tx.execute(f"INSERT INTO {t} (id, name, score) VALUES (2, 'b', 1)")
        assert await _count(db, t) == 1

    async def test_unicode_and_binary_round_trip(
        self, database: Database, make_table: MakeTable, database_traits: DatabaseTraits
    ) -> None:
        db, t = database, await make_table("id INTEGER PRIMARY KEY, label {text}, payload {blob}")
        label = "héllo ☃ 日本語 🎉 \u00a0 Ωμέγα"
        payload = bytes(range(256)) + b"\x00\xff\x00"
        await db.execute(
            f"INSERT INTO {t} (id, label, payload) VALUES (1, :l, :p)", {"l": label, "p": payload}
        )
        row = await db.fetch_one(f"SELECT label, payload FROM {t} WHERE id = 1")
        assert row is not None
        assert row["label"] == label
        assert database_traits.bytes_of(row["payload"]) == payload
        assert await db.fetch_value(f"SELECT id FROM {t} WHERE label = :l", {"l": label}) == 1

    async def test_nulls_round_trip(self, database: Database, make_table: MakeTable) -> None:
        db = database
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

    async def test_twenty_tasks_share_the_database(
        self, database: Database, make_table: MakeTable
    ) -> None:
        db, t = database, await make_table(PEOPLE)
        seen: dict[int, object] = {}

        async def worker(i: int) -> None:
            insert = f"INSERT INTO {t} (id, name, score) VALUES (:i, :n, :i)"
            select = f"SELECT score FROM {t} WHERE id = :i"
            if i % 2:
                async with db.transaction() as tx:
                    await tx.execute(insert, {"i": i, "n": "tx"})
                    seen[i] = await tx.fetch_value(select, {"i": i})
            else:
                await db.execute(insert, {"i": i, "n": "plain"})
                seen[i] = await db.fetch_value(select, {"i": i})

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for i in range(20):
                    tg.start_soon(worker, i)
        assert seen == {i: i for i in range(20)}
        assert await _count(db, t) == 20
        assert await db.fetch_value(f"SELECT COUNT(*) FROM {t} WHERE name = 'tx'") == 10

    async def test_bad_sql_raises_typed_errors(
        self, database: Database, make_table: MakeTable
    ) -> None:
        db, t = database, await make_table(PEOPLE)
        with pytest.raises(DatabaseQueryError) as syntax:
            await db.execute("SELEKT nonsense FROM")
        # The driver's own words are kept, and shown.
        assert syntax.value.driver_message
        assert syntax.value.driver_message in str(syntax.value)
        with pytest.raises(DatabaseQueryError):
            await db.fetch_all(f"SELECT * FROM pwkit_no_such_table_{uuid.uuid4().hex[:8]}")
        await db.execute(f"INSERT INTO {t} (id, name, score) VALUES (1, 'a', 1)")
        with pytest.raises(DatabaseIntegrityError):
            await db.execute(f"INSERT INTO {t} (id, name, score) VALUES (1, 'again', 1)")
        assert await db.fetch_value(f"SELECT name FROM {t} WHERE id = 1") == "a"

    async def test_ping_and_close(self, open_test_database: Callable[[], Database]) -> None:
        db = open_test_database()
        assert await db.ping() is True
        await db.close()
        assert await db.ping() is False
        with pytest.raises(DatabaseConnectionError):
            await db.fetch_value("SELECT 1")
