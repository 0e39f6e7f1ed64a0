"""Database connections behind ``service_operation`` Database calls.

A ``pywatt.data`` database serves them: by default a SQLite file owned by the orchestrator,
or whatever ``database_url`` names. The wire's SQL is in the
database's own positional style (``?`` for SQLite and MySQL, ``$1`` for PostgreSQL, as the
reference's vectors show) and is never rewritten here: the driver or the server parses it and
binds the values (``execute_native``), so no value is ever quoted into it.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import uuid
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from pywatt.data import Database, Transaction

__all__ = ["DataDatabaseConnection", "DbConnection", "jsonable"]

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
