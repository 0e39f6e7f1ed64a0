"""The SQLAlchemy-engine database behind the ``sqlite``, ``postgres`` and ``mysql`` backends.

Pool settings map onto SQLAlchemy's queue pool: ``max_connections`` is ``pool_size`` (no
overflow), ``acquire_timeout`` is ``pool_timeout``, ``max_lifetime`` is ``pool_recycle`` and
``pre_ping`` is ``pool_pre_ping``. SQLAlchemy keeps no idle floor and reaps no idle
connections, so ``min_connections`` only sets how many connections :meth:`connect` opens up
front, and ``idle_timeout`` is not enforced (``max_lifetime`` still bounds a connection's age).

A read outside a transaction (SELECT, SHOW, EXPLAIN...) whose connection turns out to be lost
is run once more on a fresh connection. A write is never run again: the connection may have
died during its commit, after the server applied it, so it raises
:class:`~pywatt.data.errors.DatabaseOutcomeUnknownError` instead. So does a transaction whose
connection is lost during its COMMIT; one lost before it is rolled back by the server.

``execute_native``/``fetch_native`` take SQL in the database's own positional style with a
list of values (what the proxy wire carries) and never rewrite it: the server (or SQLite)
parses the statement and binds the values; on MariaDB and MySQL through a server-side prepared
statement, so no value is ever quoted into the caller's SQL. MySQL statements with parameters
take that path too (their ``:name`` placeholders found by the dialect's tokenizer), because
aiomysql would otherwise quote the values into the SQL text.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import anyio
from sqlalchemy import event, exc as sa_exc, text
from sqlalchemy.engine import URL, Connection, CursorResult, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.sql.elements import TextClause

from pywatt.data.database._statements import checked_params, is_read, to_positional
from pywatt.data.database.base import (
    Database,
    DatabaseSettings,
    Params,
    Row,
    Transaction,
    backend_for_scheme,
    reveal,
)
from pywatt.data.errors import (
    DatabaseConfigError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabaseOutcomeUnknownError,
    DatabaseParameterError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    TransactionClosedError,
)

__all__ = ["SqlAlchemyDatabase", "build_url"]

logger = logging.getLogger("pywatt.data.database")

T = TypeVar("T")
_Op = Callable[[CursorResult[Any]], T]
#: One statement run on a connection.
_Stmt = Callable[[Connection], CursorResult[Any]]

#: backend name -> (SQLAlchemy dialect, async driver)
_DIALECTS = {
    "sqlite": ("sqlite", "aiosqlite"),
    "postgres": ("postgresql", "asyncpg"),
    "mysql": ("mysql", "aiomysql"),
}


def build_url(settings: DatabaseSettings, backend: str) -> URL:
    """The async-driver SQLAlchemy URL for ``settings``; errors never echo the password."""
    if backend not in _DIALECTS:
        raise DatabaseConfigError(f"no SQLAlchemy dialect for backend {backend!r}")
    dialect, driver = _DIALECTS[backend]
    password = reveal(settings.password) if settings.password is not None else None
    if settings.url is not None:
        try:
            url = make_url(reveal(settings.url))
        except sa_exc.ArgumentError:
            raise DatabaseConfigError(f"cannot parse the {backend} database url") from None
        asked = url.drivername.split("+", 1)
        if backend_for_scheme(asked[0]) != backend:
            raise DatabaseConfigError(f"url scheme {asked[0]!r} is not a {backend} url")
        if len(asked) == 2 and asked[1] != driver:
            raise DatabaseConfigError(
                f"the {backend} backend drives {driver}, not {asked[1]!r}; "
                f"use '{asked[0]}://' or '{dialect}+{driver}://'"
            )
        url = url.set(drivername=f"{dialect}+{driver}")
        if password is not None and url.password is None:
            url = url.set(password=password)
    else:
        url = URL.create(
            f"{dialect}+{driver}",
            username=settings.username,
            password=password,
            host=settings.host,
            port=settings.port,
            database=settings.database,
        )
    if settings.extra_params:
        url = url.update_query_dict(dict(settings.extra_params))
    if backend == "mysql" and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


@functools.lru_cache(maxsize=1024)
def _statement(sql: str) -> tuple[TextClause, frozenset[str]]:
    clause = text(sql)
    return clause, frozenset(clause.compile().params)


def _prepare(sql: str, params: Params | None) -> tuple[TextClause, Params]:
    """Check the statement and its parameters before any connection is taken."""
    if not isinstance(sql, str):
        checked_params(sql, params, set())  # raises for the type
    clause, names = _statement(sql)
    return clause, checked_params(sql, params, names)


def _text_statement(clause: TextClause, params: Params) -> _Stmt:
    return lambda conn: conn.execute(clause, params)


def _named_statement(backend: str, sql: str, params: Params | None) -> _Stmt:
    """A ``:name`` statement, checked before any connection is taken."""
    if backend == "mysql" and params:
        # aiomysql quotes values into the SQL text, so a ':name' that SQLAlchemy's text() finds
        # inside a literal ('%:q%') would have a quoted value pasted into the middle of that
        # literal. The dialect's tokenizer leaves literals alone, and the server binds.
        return _native_statement(*to_positional(sql, params, backend))
    clause, bound = _prepare(sql, params)
    return _text_statement(clause, bound)


def _native_statement(sql: str, values: Sequence[Any]) -> _Stmt:
    """The caller's SQL as it is, bound by the driver (SQLite, asyncpg) or by the server."""
    if not isinstance(sql, str):
        raise DatabaseParameterError(f"sql must be a str, got {type(sql).__name__}")
    args = tuple(values)

    def run(conn: Connection) -> CursorResult[Any]:
        if conn.dialect.name != "mysql":
            return conn.exec_driver_sql(sql, args)
        # aiomysql would quote values into the SQL text itself; instead the server parses the
        # caller's SQL and binds the values. The driver only quotes whole values into these
        # fixed statements.
        marks = ", ".join(["%s"] * len(args))
        if getattr(conn.dialect, "is_mariadb", False):
            using = f" USING {marks}" if args else ""
            return conn.exec_driver_sql(f"EXECUTE IMMEDIATE %s{using}", (sql, *args))
        conn.exec_driver_sql("PREPARE pywatt_stmt FROM %s", (sql,))
        try:
            names = ", ".join(f"@pywatt_{i}" for i in range(len(args)))
            if args:
                sets = ", ".join(f"@pywatt_{i} = %s" for i in range(len(args)))
                conn.exec_driver_sql(f"SET {sets}", args)
            return conn.exec_driver_sql("EXECUTE pywatt_stmt" + (f" USING {names}" if args else ""))
        finally:
            conn.exec_driver_sql("DEALLOCATE PREPARE pywatt_stmt")

    return run


def _rowcount(result: CursorResult[Any]) -> int:
    return max(result.rowcount, 0)


def _first(result: CursorResult[Any]) -> Row | None:
    row = result.first()
    return None if row is None else row._asdict()


def _all(result: CursorResult[Any]) -> list[Row]:
    return [row._asdict() for row in result.all()]


def _scalar(result: CursorResult[Any]) -> Any:
    return result.scalar()


def _own_sqlite_transactions(engine: Engine) -> None:
    """Emit BEGIN ourselves: the sqlite3 module otherwise defers it to the first write, so
    reads at the start of a transaction would not be part of it."""

    @event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")


class SqlAlchemyDatabase(Database):
    """A :class:`Database` on a SQLAlchemy ``AsyncEngine``."""

    def __init__(self, settings: DatabaseSettings, *, backend: str | None = None) -> None:
        self.backend = backend or settings.backend
        self.settings = settings
        url = build_url(settings, self.backend)
        #: The URL with its password masked: safe for logs and messages.
        self.url = url.render_as_string(hide_password=True).replace("%3Amemory%3A", ":memory:")
        self._password = url.password or ""
        pool: dict[str, Any] = {
            "poolclass": AsyncAdaptedQueuePool,
            "pool_size": settings.max_connections,
            "max_overflow": 0,
            "pool_timeout": settings.acquire_timeout,
            "pool_recycle": settings.max_lifetime,
            "pool_pre_ping": settings.pre_ping,
        }
        if self.backend == "sqlite" and _is_memory(url):
            # An in-memory database lives and dies with its one connection: never recycle it.
            pool.update(pool_size=1, pool_recycle=-1, pool_pre_ping=False)
        self._pool_size: int = pool["pool_size"]
        # hide_parameters keeps bound values (which may be secrets) out of SQLAlchemy's errors.
        self._engine = create_async_engine(url, hide_parameters=True, **pool)
        if self.backend == "sqlite":
            _own_sqlite_transactions(self._engine.sync_engine)
        self._closed = False
        logger.debug("opened %s database %s", self.backend, self.url)

    # --- errors ---------------------------------------------------------------------------

    def _scrub(self, message: str) -> str:
        return message.replace(self._password, "***") if self._password else message

    def _error(self, exc: BaseException) -> DatabaseError:
        if isinstance(exc, DatabaseError):
            return exc
        if isinstance(exc, sa_exc.TimeoutError):
            return DatabaseTimeoutError(
                f"no {self.backend} connection free within {self.settings.acquire_timeout} s "
                f"(pool of {self._pool_size})"
            )
        orig = getattr(exc, "orig", None) or exc
        driver = self._scrub(str(orig).strip() or type(orig).__name__)
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return DatabaseConnectionError(
                f"lost the connection to {self.url}: {driver}", driver_message=driver
            )
        if isinstance(exc, OSError):
            return DatabaseConnectionError(
                f"cannot reach {self.url}: {driver}", driver_message=driver
            )
        integrity = isinstance(exc, sa_exc.IntegrityError)
        cls = DatabaseIntegrityError if integrity else DatabaseQueryError
        return cls(f"{self.backend} statement failed: {driver}", driver_message=driver)

    # --- connections ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseConnectionError(f"database {self.url} is closed")

    async def _acquire(self) -> AsyncConnection:
        self._check_open()
        try:
            return await self._engine.connect()
        except sa_exc.TimeoutError as exc:
            raise self._error(exc) from exc
        except (sa_exc.SQLAlchemyError, OSError) as exc:
            driver = self._scrub(str(getattr(exc, "orig", None) or exc).strip())
            raise DatabaseConnectionError(
                f"cannot connect to {self.url}: {driver}", driver_message=driver
            ) from exc

    async def _once(self, op: _Op[T], stmt: _Stmt) -> T:
        def work(sync_conn: Connection) -> T:
            with sync_conn.begin():
                return op(stmt(sync_conn))

        conn = await self._acquire()
        try:
            # One greenlet hop for begin, statement and commit instead of three.
            value = await conn.run_sync(work)
        except BaseException:
            await self._discard(conn, rollback=False)
            raise
        await conn.close()
        return value

    async def _run(self, op: _Op[T], sql: str, stmt: _Stmt) -> T:
        try:
            return await self._once(op, stmt)
        except sa_exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise self._error(exc) from exc
            if not is_read(sql, self.backend):
                raise self._outcome_unknown(exc) from exc
            logger.warning(
                "connection to %s lost (%s); retrying the read once on a fresh connection",
                self.url,
                self._scrub(str(exc.orig)),
            )
        except OSError as exc:
            if not is_read(sql, self.backend):
                raise self._outcome_unknown(exc) from exc
            raise self._error(exc) from exc
        except sa_exc.SQLAlchemyError as exc:
            raise self._error(exc) from exc
        try:
            return await self._once(op, stmt)
        except (sa_exc.SQLAlchemyError, OSError) as exc:
            raise self._error(exc) from exc

    def _outcome_unknown(self, exc: BaseException) -> DatabaseOutcomeUnknownError:
        driver = self._scrub(str(getattr(exc, "orig", None) or exc).strip())
        return DatabaseOutcomeUnknownError(
            f"lost the connection to {self.url} during a write: it may or may not have been "
            f"applied (outcome unknown), so it was not retried: {driver}",
            driver_message=driver,
        )

    async def _text(self, op: _Op[T], sql: str, params: Params | None) -> T:
        return await self._run(op, sql, _named_statement(self.backend, sql, params))

    async def connect(self) -> None:
        conns: list[AsyncConnection] = []
        try:
            for _ in range(max(1, min(self.settings.min_connections, self._pool_size))):
                conns.append(await self._acquire())
        finally:
            for conn in conns:
                await conn.close()

    # --- the API --------------------------------------------------------------------------

    async def execute(self, sql: str, params: Params | None = None) -> int:
        return await self._text(_rowcount, sql, params)

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        return await self._text(_first, sql, params)

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        return await self._text(_all, sql, params)

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        return await self._text(_scalar, sql, params)

    async def execute_native(self, sql: str, values: Sequence[Any]) -> int:
        """Run SQL in the database's own placeholder style (``?``/``$1``), values bound by it."""
        return await self._run(_rowcount, sql, _native_statement(sql, values))

    async def fetch_native(self, sql: str, values: Sequence[Any]) -> list[Row]:
        """Every row of SQL in the database's own placeholder style."""
        return await self._run(_all, sql, _native_statement(sql, values))

    async def ping(self) -> bool:
        try:
            await self._text(_scalar, "SELECT 1", None)
        except DatabaseError as exc:
            logger.info("ping of %s failed: %s", self.url, exc)
            return False
        return True

    async def close(self) -> None:
        self._closed = True
        await self._engine.dispose()

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        conn = await self._acquire()
        tx = _SqlAlchemyTransaction(self, conn)
        try:
            try:
                await conn.begin()
            except (sa_exc.SQLAlchemyError, OSError) as exc:
                raise self._error(exc) from exc
            try:
                yield tx
            except BaseException:
                tx.finished = True
                await self._discard(conn, rollback=True)
                raise
            tx.finished = True
            try:
                await conn.commit()
            except (sa_exc.SQLAlchemyError, OSError) as exc:
                lost = isinstance(exc, OSError) or (
                    isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
                )
                # The COMMIT may have reached the server before the connection died.
                raise (self._outcome_unknown(exc) if lost else self._error(exc)) from exc
        finally:
            await self._discard(conn, rollback=False)

    async def _discard(self, conn: AsyncConnection, *, rollback: bool) -> None:
        """Roll back and return a connection even while being cancelled.

        If that fails or hangs, the connection is dropped instead: the server rolls back the
        transaction of a connection that goes away, so no partial write survives either way.
        """
        timeout = self.settings.acquire_timeout
        with anyio.move_on_after(timeout, shield=True):
            try:
                if rollback:
                    await conn.rollback()
                await conn.close()
                return
            except Exception as exc:
                logger.warning("dropping a %s connection after: %s", self.backend, exc)
        with anyio.move_on_after(timeout, shield=True):
            try:
                await conn.invalidate()
                await conn.close()
            except Exception as exc:
                logger.warning("could not drop a %s connection: %s", self.backend, exc)


class _SqlAlchemyTransaction(Transaction):
    """Statements on the transaction's one connection, one at a time, never retried."""

    def __init__(self, db: SqlAlchemyDatabase, conn: AsyncConnection) -> None:
        self._db = db
        self._conn = conn
        self._lock = anyio.Lock()
        self.finished = False

    async def _run(self, op: _Op[T], stmt: _Stmt) -> T:
        async with self._lock:
            if self.finished:
                raise TransactionClosedError("the transaction has already ended")
            try:
                return await self._conn.run_sync(lambda conn: op(stmt(conn)))
            except (sa_exc.SQLAlchemyError, OSError) as exc:
                raise self._db._error(exc) from exc

    async def _text(self, op: _Op[T], sql: str, params: Params | None) -> T:
        return await self._run(op, _named_statement(self._db.backend, sql, params))

    async def execute(self, sql: str, params: Params | None = None) -> int:
        return await self._text(_rowcount, sql, params)

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        return await self._text(_first, sql, params)

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        return await self._text(_all, sql, params)

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        return await self._text(_scalar, sql, params)

    async def execute_native(self, sql: str, values: Sequence[Any]) -> int:
        return await self._run(_rowcount, _native_statement(sql, values))

    async def fetch_native(self, sql: str, values: Sequence[Any]) -> list[Row]:
        return await self._run(_all, _native_statement(sql, values))
