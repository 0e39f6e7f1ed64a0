"""Database connections behind ``service_operation`` Database calls.

The default is a SQLite file owned by the orchestrator (stdlib ``sqlite3`` in worker threads);
with ``database_url`` set, ``pywatt.data.open_database`` serves instead. The wire's SQL is in the
database's own positional style (``?`` for SQLite and MySQL, ``$1`` for PostgreSQL, as the
reference's vectors show) and is never rewritten here: the driver or the server parses it and
binds the values (``execute_native``), so no value is ever quoted into it.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import sqlite3
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import anyio

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from pywatt.data import Database, Transaction

__all__ = ["DataDatabaseConnection", "DbConnection", "SqliteConnection", "jsonable"]

T = TypeVar("T")
Row = dict[str, Any]


class _NativeQueries(Protocol):
    """What ``pywatt.data``'s SQLAlchemy databases and transactions offer the wire."""

    async def execute_native(self, sql: str, values: list[Any]) -> int: ...
    async def fetch_native(self, sql: str, values: list[Any]) -> list[Row]: ...


class DbConnection(Protocol):
    """One ``connection_id``; ``tx`` names a transaction begun on it."""

    async def execute(self, sql: str, params: list[Any], tx: str | None) -> int: ...
    async def query(self, sql: str, params: list[Any], tx: str | None) -> list[Row]: ...
    async def begin(self) -> str: ...
    async def finish(self, tx: str, commit: bool) -> None: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


def jsonable(value: Any) -> Any:
    """A row value as JSON: blobs become base64 (§7.3.2), other odd types text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def check_params(params: list[Any]) -> list[Any]:
    for value in params:
        if isinstance(value, (list, dict)):
            raise ValueError("array and object parameters are not supported; bind scalars")
    return params


class SqliteConnection:
    """A ``sqlite3`` connection per ``connection_id``, one more per open transaction."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._txs: dict[str, sqlite3.Connection] = {}
        self._lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, timeout=10, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        return conn

    def _target(self, tx: str | None) -> sqlite3.Connection:
        if tx is not None:
            try:
                return self._txs[tx]
            except KeyError:
                raise ValueError(f"no open transaction {tx!r}") from None
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    async def _run(self, fn: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                return fn()

        return await anyio.to_thread.run_sync(locked)

    async def execute(self, sql: str, params: list[Any], tx: str | None) -> int:
        def run() -> int:
            cursor = self._target(tx).execute(sql, check_params(params))
            return max(cursor.rowcount, 0)

        return await self._run(run)

    async def query(self, sql: str, params: list[Any], tx: str | None) -> list[Row]:
        def run() -> list[Row]:
            rows = self._target(tx).execute(sql, check_params(params)).fetchall()
            return [{k: jsonable(row[k]) for k in row.keys()} for row in rows]  # noqa: SIM118

        return await self._run(run)

    async def begin(self) -> str:
        tx = f"tx-{uuid.uuid4()}"

        def run() -> None:
            conn = self._open()
            conn.execute("BEGIN")
            self._txs[tx] = conn

        await self._run(run)
        return tx

    async def finish(self, tx: str, commit: bool) -> None:
        def run() -> None:
            conn = self._txs.pop(tx, None)
            if conn is None:
                raise ValueError(f"no open transaction {tx!r}")
            try:
                conn.execute("COMMIT" if commit else "ROLLBACK")
            finally:
                conn.close()

        await self._run(run)

    async def ping(self) -> bool:
        return await self._run(
            lambda: self._target(None).execute("SELECT 1").fetchone() is not None
        )

    async def close(self) -> None:
        def run() -> None:
            for conn in self._txs.values():
                conn.execute("ROLLBACK")
                conn.close()
            self._txs.clear()
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await self._run(run)


class DataDatabaseConnection:
    """A ``pywatt.data`` database shared by every connection id of one orchestrator."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._txs: dict[str, tuple[AbstractAsyncContextManager[Transaction], Transaction]] = {}

    def _target(self, tx: str | None) -> _NativeQueries:
        target: Database | Transaction
        if tx is None:
            target = self._db
        else:
            try:
                target = self._txs[tx][1]
            except KeyError:
                raise ValueError(f"no open transaction {tx!r}") from None
        if not hasattr(target, "execute_native"):
            raise ValueError(f"the {self._db.backend} backend cannot run wire SQL as it is")
        return cast("_NativeQueries", target)

    async def execute(self, sql: str, params: list[Any], tx: str | None) -> int:
        return await self._target(tx).execute_native(sql, check_params(params))

    async def query(self, sql: str, params: list[Any], tx: str | None) -> list[Row]:
        rows = await self._target(tx).fetch_native(sql, check_params(params))
        return [{k: jsonable(v) for k, v in row.items()} for row in rows]

    async def begin(self) -> str:
        manager = self._db.transaction()
        transaction = await manager.__aenter__()
        tx = f"tx-{uuid.uuid4()}"
        self._txs[tx] = (manager, transaction)
        return tx

    async def finish(self, tx: str, commit: bool) -> None:
        try:
            manager, _ = self._txs.pop(tx)
        except KeyError:
            raise ValueError(f"no open transaction {tx!r}") from None
        if commit:
            await manager.__aexit__(None, None, None)
            return
        rollback = _Rollback()
        await manager.__aexit__(_Rollback, rollback, None)

    async def ping(self) -> bool:
        return await self._db.ping()

    async def close(self) -> None:
        for tx in list(self._txs):
            await self.finish(tx, commit=False)


class _Rollback(Exception):
    """Thrown into a held transaction to make it roll back."""
