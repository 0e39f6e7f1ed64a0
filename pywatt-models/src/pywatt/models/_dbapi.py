"""A PEP 249 driver over a ``pywatt.data`` connection, for SQLAlchemy and Alembic.

SQLAlchemy's inspector and Alembic's operations are synchronous; they run in a greenlet
(``greenlet_spawn``) and every statement hops back to the event loop (``await_only``) onto a
``Queries`` object: one ``pywatt.data`` transaction. So reflection and DDL reach a database
however the module reaches it, through the orchestrator's ``proxy`` backend included, and
nothing bypasses the module's own pool or credentials.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.mysql.base import MySQLDialect
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.util import await_only

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from pywatt.data.database import Queries

T = TypeVar("T")

__all__ = ["DRIVER", "ShimConnection", "register_dialects", "shim_engine"]

DRIVER = "pywatt"
paramstyle = "named"
apilevel = "2.0"
threadsafety = 1
#: Read by SQLiteDialect before it asks the server; the real version is then queried.
sqlite_version_info = (3, 35, 0)

#: Statements whose first word says they return rows.
_ROW_WORDS = frozenset({"SELECT", "WITH", "SHOW", "VALUES", "EXPLAIN", "DESCRIBE", "DESC"})
#: Column order of the SQLite PRAGMAs SQLAlchemy reads by position: a row that crossed the
#: orchestrator's wire is a JSON object, whose key order nobody promises.
_PRAGMA_COLUMNS = {
    "table_info": ["cid", "name", "type", "notnull", "dflt_value", "pk"],
    "table_xinfo": ["cid", "name", "type", "notnull", "dflt_value", "pk", "hidden"],
    "index_list": ["seq", "name", "unique", "origin", "partial"],
    "index_info": ["seqno", "cid", "name"],
    "index_xinfo": ["seqno", "cid", "name", "desc", "coll", "key"],
    "foreign_key_list": ["id", "seq", "table", "from", "to", "on_update", "on_delete", "match"],
}
_PRAGMA = re.compile(r"^\s*PRAGMA\s+(?:\w+\.)?(\w+)", re.IGNORECASE)
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


class Error(Exception):
    """The PEP 249 base; ``pywatt.data`` errors pass through SQLAlchemy unwrapped."""


class Warning(Exception):
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class OperationalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class DataError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


def _returns_rows(sql: str) -> bool:
    words = sql.lstrip(" \t\r\n(").split(None, 2)
    if not words:
        return False
    first = words[0].upper()
    if first in {"INSERT", "UPDATE", "DELETE"}:
        return re.search(r"\bRETURNING\b", sql, re.IGNORECASE) is not None
    if first == "PRAGMA":
        return "=" not in sql  # ``PRAGMA x = 1`` sets; ``PRAGMA table_info(t)`` reads
    return first in _ROW_WORDS


def _named(sql: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``?`` placeholders (SQLite's reflection SQL) as ``:_pN`` names, literals left alone."""
    parts = re.split(r"('(?:[^']|'')*')", sql)
    names = iter(range(len(values)))
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"\?", lambda _m: f":_p{next(names)}", parts[i])
    return "".join(parts), {f"_p{i}": v for i, v in enumerate(values)}


def _escape(sql: str, params: Mapping[str, Any]) -> str:
    """Escape ``:word`` text that is not one of our parameters (say, inside a literal).

    A PostgreSQL cast right after a placeholder (``:name::VARCHAR``) gets a space, so that
    ``:name`` still reads as a placeholder.
    """
    sql = re.sub(r"(?<![:\w\\]):(\w+)::", lambda m: f":{m.group(1)} ::", sql)
    return _BIND.sub(lambda m: m.group(0) if m.group(1) in params else "\\" + m.group(0), sql)


def _call(coro: Awaitable[T]) -> T:
    from pywatt.data.errors import DatabaseError as PywattError, DatabaseIntegrityError

    try:
        return await_only(coro)
    except DatabaseIntegrityError as exc:
        raise IntegrityError(str(exc)) from exc
    except PywattError as exc:
        raise OperationalError(str(exc)) from exc


def _order(sql: str, expected: list[str], got: list[str]) -> list[str]:
    pragma = _PRAGMA.match(sql)
    known = _PRAGMA_COLUMNS.get(pragma.group(1).lower(), []) if pragma else expected
    if not got:
        return known or ["_0"]
    if known and set(known) <= set(got):
        return known + [n for n in got if n not in known]
    return got


def _count_columns(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    compiled = getattr(context, "compiled", None)
    columns = getattr(compiled, "_result_columns", None) or []
    if isinstance(cursor, ShimCursor):
        cursor.expected = [str(c[0]) for c in columns]


def shim_engine(dialect: str, queries: Queries) -> Engine:
    """A one-connection engine whose statements run on ``queries``."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    register_dialects()
    shim = ShimConnection(queries)
    engine = create_engine(
        f"{dialect}+{DRIVER}://", creator=lambda: shim, poolclass=NullPool, paramstyle="named"
    )
    event.listen(engine, "before_cursor_execute", _count_columns)
    return engine


class ShimCursor:
    def __init__(self, conn: ShimConnection) -> None:
        self._conn = conn
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self.arraysize = 1
        self.lastrowid: int | None = None
        self._rows: list[tuple[Any, ...]] = []
        #: Column names of the compiled statement: an empty result still needs its shape,
        #: and a row from the wire its order.
        self.expected: list[str] = []

    def execute(
        self, operation: str, parameters: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> None:
        if isinstance(parameters, Sequence):
            operation, params = _named(operation, parameters)
        else:
            params = dict(parameters or {})
        sql = _escape(operation, params)
        queries = self._conn.queries
        if _returns_rows(operation):
            rows = _call(queries.fetch_all(sql, params))
            names = _order(operation, self.expected, list(rows[0].keys()) if rows else [])
            self.description = [(n, None, None, None, None, None, None) for n in names]
            self._rows = [tuple(row[n] for n in names) for row in rows]
            self.rowcount = len(rows)
        else:
            self.rowcount = _call(queries.execute(sql, params))
            self.description = None
            self._rows = []

    def executemany(self, operation: str, seq: Sequence[Mapping[str, Any]]) -> None:
        total = 0
        for parameters in seq:
            self.execute(operation, parameters)
            total += max(self.rowcount, 0)
        self.rowcount = total

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        size = size or self.arraysize
        out, self._rows = self._rows[:size], self._rows[size:]
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        out, self._rows = self._rows, []
        return out

    def close(self) -> None:
        self._rows = []

    def setinputsizes(self, *args: Any) -> None:
        pass

    def setoutputsizes(self, *args: Any) -> None:
        pass


class ShimConnection:
    """One ``pywatt.data`` transaction: commit and rollback belong to its owner."""

    def __init__(self, queries: Queries) -> None:
        self.queries = queries

    def cursor(self) -> ShimCursor:
        return ShimCursor(self)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Shim:
    @classmethod
    def import_dbapi(cls) -> Any:
        import sys

        return sys.modules[__name__]

    def on_connect(self) -> None:
        return None


class PywattSQLiteDialect(_Shim, SQLiteDialect):
    driver = DRIVER
    default_paramstyle = "named"
    supports_statement_cache = True

    def _get_server_version_info(self, connection: Any) -> tuple[int, ...]:
        version = connection.exec_driver_sql("select sqlite_version()").scalar()
        return tuple(int(p) for p in str(version).split("."))

    def set_isolation_level(self, dbapi_connection: Any, level: Any) -> None:
        pass

    def get_isolation_level(self, dbapi_connection: Any) -> Any:
        return "SERIALIZABLE"


class PywattPGDialect(_Shim, PGDialect_asyncpg):
    """asyncpg's dialect for its bound-parameter casts, which asyncpg's inference needs."""

    driver = DRIVER
    is_async = False
    default_paramstyle = "named"
    supports_statement_cache = True

    def set_isolation_level(self, dbapi_connection: Any, level: Any) -> None:
        pass

    def get_isolation_level(self, dbapi_connection: Any) -> Any:
        return "READ COMMITTED"

    def do_ping(self, dbapi_connection: Any) -> bool:
        return True

    def is_disconnect(self, e: Any, connection: Any, cursor: Any) -> bool:
        return False


class PywattMySQLDialect(_Shim, MySQLDialect):
    driver = DRIVER
    default_paramstyle = "named"
    supports_statement_cache = True

    def _detect_charset(self, connection: Any) -> str:
        return "utf8mb4"

    def _extract_error_code(self, exception: BaseException) -> int | None:
        # The driver's message carries the server's code: "(1146, "Table ... doesn't exist")".
        found = re.search(r"\((\d{4}),", str(exception))
        return int(found.group(1)) if found else None

    def set_isolation_level(self, dbapi_connection: Any, level: Any) -> None:
        pass


def register_dialects() -> None:
    """Make ``sqlite+pywatt://`` and its siblings known to SQLAlchemy (idempotent)."""
    for name, cls in (
        ("sqlite", "PywattSQLiteDialect"),
        ("postgresql", "PywattPGDialect"),
        ("mysql", "PywattMySQLDialect"),
        ("mariadb", "PywattMySQLDialect"),
    ):
        registry.register(f"{name}.{DRIVER}", __name__, cls)
