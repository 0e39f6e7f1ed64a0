"""PostgreSQL through psycopg 3: a connection pool, server-side binding, typed errors.

``:name`` placeholders become PostgreSQL's own ``$1`` with ``pywatt.data.to_positional`` (the
dialect's tokenizer, so a ``:name`` inside a literal stays text), and psycopg's raw cursor
sends them as they are: the server binds every value.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from pywatt.data import (
    Database,
    DatabaseConfigError,
    DatabaseConnectionError,
    DatabaseIntegrityError,
    DatabaseQueryError,
    DatabaseSettings,
    DatabaseTimeoutError,
    Transaction,
    TransactionClosedError,
    reveal,
    to_positional,
)

__all__ = ["PsycopgDatabase", "PsycopgTransaction"]

Row = Mapping[str, Any]
Params = Mapping[str, Any]
Connection = psycopg.AsyncConnection[DictRow]


def _conninfo(settings: DatabaseSettings) -> str:
    if settings.url is None:
        raise DatabaseConfigError("the psycopg backend needs a url: psycopg://user@host/db")
    parts = urlsplit(reveal(settings.url))
    return urlunsplit(("postgresql", *parts[1:]))


def _translated(exc: psycopg.Error) -> Exception:
    """The pywatt error for a driver error; the driver's words are kept."""
    message = str(exc).strip()
    if isinstance(exc, psycopg.IntegrityError):
        return DatabaseIntegrityError(message, driver_message=message)
    if isinstance(exc, psycopg.OperationalError):
        return DatabaseConnectionError(message, driver_message=message)
    return DatabaseQueryError(message, driver_message=message)


Cursor = psycopg.AsyncRawCursor[DictRow]


async def _run(conn: Connection, sql: str, params: Params | None) -> Cursor:
    statement, values = to_positional(sql, params, "postgres")
    cursor = psycopg.AsyncRawCursor(conn, row_factory=dict_row)
    try:
        await cursor.execute(statement, values)
    except psycopg.Error as exc:
        raise _translated(exc) from exc
    return cursor


async def _rows(cursor: Cursor) -> list[Row]:
    if cursor.description is None:  # a statement that returns no rows
        return []
    return [dict(row) for row in await cursor.fetchall()]


class PsycopgTransaction(Transaction):
    """Statements on one pooled connection, between ``BEGIN`` and ``COMMIT``/``ROLLBACK``."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.closed = False

    def _check(self) -> Connection:
        if self.closed:
            raise TransactionClosedError("the transaction's async with block has ended")
        return self._conn

    async def execute(self, sql: str, params: Params | None = None) -> int:
        return (await _run(self._check(), sql, params)).rowcount

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        rows = await _rows(await _run(self._check(), sql, params))
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        return await _rows(await _run(self._check(), sql, params))


class PsycopgDatabase(Database):
    backend = "psycopg"

    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        self._conninfo = _conninfo(settings)
        self._pool: AsyncConnectionPool[Connection] | None = None
        self._closed = False

    async def connect(self) -> None:
        await self._open_pool()

    async def _open_pool(self) -> AsyncConnectionPool[Connection]:
        if self._closed:
            raise DatabaseConnectionError("this database is closed")
        if self._pool is None:
            pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
                self._conninfo,
                # Autocommit: a statement outside a transaction commits on its own.
                kwargs={"autocommit": True, "row_factory": dict_row},
                connection_class=psycopg.AsyncConnection[DictRow],
                min_size=self.settings.min_connections,
                max_size=self.settings.max_connections,
                timeout=self.settings.acquire_timeout,
                max_lifetime=self.settings.max_lifetime,
                max_idle=self.settings.idle_timeout,
                open=False,
            )
            try:
                await pool.open(wait=self.settings.min_connections > 0)
            except (PoolTimeout, psycopg.Error) as exc:
                await pool.close()
                raise DatabaseConnectionError(f"cannot connect: {exc}") from exc
            self._pool = pool
        return self._pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        pool = await self._open_pool()
        try:
            conn = await pool.getconn()
        except PoolTimeout as exc:
            raise DatabaseTimeoutError(f"no connection free: {exc}") from exc
        try:
            yield conn
        finally:
            with anyio.CancelScope(shield=True):  # a cancelled call still returns it
                await pool.putconn(conn)

    async def execute(self, sql: str, params: Params | None = None) -> int:
        async with self._connection() as conn:
            return (await _run(conn, sql, params)).rowcount

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        async with self._connection() as conn:
            return await _rows(await _run(conn, sql, params))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._connection() as conn:
            await _run(conn, "BEGIN", None)
            tx = PsycopgTransaction(conn)
            try:
                yield tx
            except BaseException:
                with anyio.CancelScope(shield=True):  # roll back even when cancelled
                    await conn.execute("ROLLBACK")
                raise
            finally:
                tx.closed = True
            await _run(conn, "COMMIT", None)

    async def ping(self) -> bool:
        if self._closed:
            return False
        try:
            return bool(await self.fetch_value("SELECT 1") == 1)
        except Exception:
            return False

    async def close(self) -> None:
        self._closed = True
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
