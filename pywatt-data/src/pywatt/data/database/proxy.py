"""The ``proxy`` database: one the orchestrator owns, reached over ``service_operation``.

A module under an orchestrator can query a database it was never given credentials for.
Operation names and parameter shapes follow PROTOCOL.md §7.3.2. The API is the same as every
other backend (``:name`` placeholders with a mapping); the SQL is rewritten to the positional
style of the remote database (``?`` for SQLite and MySQL, ``$1`` for PostgreSQL), found with
that dialect's tokenizer, and the orchestrator hands it to the server, which binds the values.

Bytes travel as standard base64 text and come back as text: the wire has no bytes type.

Statements outside a transaction run through a resilience policy when one is set (``policy=``
or ``PYWATT_SERVICE_POLICIES``, see :mod:`pywatt.data._policy`): reads may be retried, writes
never are. Statements inside a transaction, and its begin, commit and rollback, never are.
"""

from __future__ import annotations

import base64
import functools
import math
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio

from pywatt.core.errors import PyWattError, ServiceError
from pywatt.data._policy import CallPolicy, policy_from_env
from pywatt.data.database import _statements
from pywatt.data.database.base import (
    Database,
    DatabaseSettings,
    Params,
    Queries,
    Row,
    Transaction,
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
    TransactionClosedError,
)

if TYPE_CHECKING:
    from pywatt.core.service_client import ServiceClient

__all__ = ["ProxyDatabase", "proxy_backend", "to_positional"]

_INTEGRITY = re.compile(r"IntegrityError|constraint|Duplicate entry|duplicate key", re.IGNORECASE)
_OUTCOME_UNKNOWN = re.compile(r"OutcomeUnknownError")
_REMOTE_TYPES = {"sqlite": "sqlite", "postgres": "postgres", "postgresql": "postgres"}
_REMOTE_TYPES.update({"mysql": "mysql", "mariadb": "mysql"})


def to_positional(sql: str, params: Params | None, db_type: str) -> tuple[str, list[Any]]:
    """``:name`` placeholders in the remote's positional style, and the wire values in order."""
    query, values = _statements.to_positional(sql, params, db_type)
    return query, [_wire_value(v) for v in values]


def _wire_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DatabaseParameterError("NaN and infinity cannot be sent to the orchestrator")
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (list, tuple)):
        return [_wire_value(v) for v in value]
    raise DatabaseParameterError(
        f"a {type(value).__name__} parameter cannot be sent to the orchestrator; "
        "use str, int, float, bool, bytes or None"
    )


def _rows(result: Any) -> list[Row]:
    if not isinstance(result, list):
        raise DatabaseQueryError(f"orchestrator sent rows of type {type(result).__name__}")
    return [_row(item) for item in result]


def _row(item: Any) -> Row:
    if not isinstance(item, Mapping) or not isinstance(item.get("data"), Mapping):
        raise DatabaseQueryError("orchestrator sent a row without its 'data' object")
    return dict(item["data"])


class _ProxyQueries(Queries):
    """Statements on one orchestrator connection, or in one transaction on it."""

    def __init__(self, db: ProxyDatabase, transaction: tuple[str, str] | None = None) -> None:
        self._db = db
        self._tx = transaction  # (connection_id, transaction_id)

    def _params(self, sql: str, params: Params | None) -> dict[str, Any]:
        query, values = to_positional(sql, params, self._db.db_type)
        out: dict[str, Any] = {"params": values, "query": query}
        if self._tx is not None:
            out["transaction_id"] = self._tx[1]
        return out

    async def _call(self, name: str, params: dict[str, Any]) -> Any:
        if self._tx is None:
            return await self._db.call(name, params)
        return await self._db.call_on(self._tx[0], f"transaction_{name}", params)

    async def execute(self, sql: str, params: Params | None = None) -> int:
        result = await self._call("execute", self._params(sql, params))
        if not isinstance(result, int) or isinstance(result, bool) or result < 0:
            raise DatabaseQueryError(f"orchestrator sent a row count {result!r}")
        return result

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        result = await self._call("query_one", self._params(sql, params))
        return None if result is None else _row(result)

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        return _rows(await self._call("query", self._params(sql, params)))

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else next(iter(row.values()), None)


class _ProxyTransaction(_ProxyQueries, Transaction):
    def __init__(self, db: ProxyDatabase, connection_id: str, transaction_id: str) -> None:
        super().__init__(db, (connection_id, transaction_id))
        self.closed = False

    async def _call(self, name: str, params: dict[str, Any]) -> Any:
        if self.closed:
            raise TransactionClosedError("this transaction has already ended")
        return await super()._call(name, params)


class ProxyDatabase(_ProxyQueries, Database):
    """A small pool of orchestrator connections; each statement is one ``service_operation``.

    The protocol allows one operation in flight per connection, so concurrency comes from
    holding several connections (``max_connections``, as the other backends' pools).
    """

    backend = "proxy"

    def __init__(
        self,
        *,
        db_type: str = "sqlite",
        database: str | None = None,
        client: ServiceClient | None = None,
        config: Mapping[str, Any] | None = None,
        max_connections: int = 10,
        policy: CallPolicy | None = None,
    ) -> None:
        remote = _REMOTE_TYPES.get(db_type)
        if remote is None:
            raise DatabaseConfigError(f"unknown proxy db_type {db_type!r}")
        if max_connections < 1:
            raise DatabaseConfigError(f"max_connections must be >= 1, got {max_connections}")
        _ProxyQueries.__init__(self, self)
        self.db_type = remote
        self.database = database
        self._client = client
        self._config = dict(config) if config is not None else None
        self._idle: list[str] = []
        self._all: set[str] = set()
        self._slots = anyio.Semaphore(max_connections)
        self._open_tx: dict[str, str] = {}  # transaction id -> connection id
        self._closed = False
        #: Runs each operation outside a transaction (None: each runs once, as is).
        self.policy = policy if policy is not None else policy_from_env("Database")

    def _service_client(self) -> ServiceClient:
        if self._client is None:
            from pywatt.core.service_client import current_service_client

            self._client = current_service_client()
        return self._client

    def _wire_config(self) -> dict[str, Any]:
        if self._config is None:
            from pywatt.core.service_models import DatabaseConfig

            self._config = DatabaseConfig(
                db_type=self.db_type, database=self.database or ""
            ).to_value()
        return self._config

    async def _new_connection(self) -> str:
        try:
            conn = await self._service_client().connect("Database", self._wire_config())
        except ServiceError as exc:
            raise DatabaseConnectionError(
                f"proxy database connect failed: {exc}", driver_message=str(exc)
            ) from exc
        self._all.add(conn)
        return conn

    async def connect(self) -> None:
        self._check_open()
        if not self._all:
            self._idle.append(await self._new_connection())

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseConnectionError("the database is closed")

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[str]:
        self._check_open()
        async with self._slots:
            conn = self._idle.pop() if self._idle else await self._new_connection()
            try:
                yield conn
            finally:
                if conn in self._all:
                    self._idle.append(conn)

    async def call(self, operation: str, params: dict[str, Any]) -> Any:
        """One operation outside a transaction, through the policy if there is one."""
        async with self._connection() as conn:
            return await self.call_on(conn, operation, params, policy=self.policy)

    async def call_on(
        self,
        connection_id: str,
        operation: str,
        params: dict[str, Any],
        *,
        policy: CallPolicy | None = None,
    ) -> Any:
        self._check_open()
        run = functools.partial(
            self._service_client().operation, connection_id, "Database", operation, params
        )
        try:
            if policy is None:
                return await run()
            return await policy.run(run, idempotent=not self._may_write(operation, params))
        except TimeoutError as exc:  # the service's own timeout, or the policy's
            # No answer: a write (or a commit) may have been applied all the same.
            lost: type[DatabaseError] = DatabaseConnectionError
            if self._may_write(operation, params):
                lost = DatabaseOutcomeUnknownError
            raise lost(f"proxy database {operation}: {exc}", driver_message=str(exc)) from exc
        except ServiceError as exc:
            # The orchestrator's error is text only; a constraint failure and an unknown
            # outcome are the kinds callers branch on, and each is named recognisably.
            text = str(exc)
            kind: type[DatabaseError] = DatabaseQueryError
            if _OUTCOME_UNKNOWN.search(text):
                kind = DatabaseOutcomeUnknownError
            elif _INTEGRITY.search(text):
                kind = DatabaseIntegrityError
            raise kind(f"proxy database {operation} failed: {text}", driver_message=text) from exc
        except PyWattError as exc:  # an open breaker: the operation was not sent
            raise DatabaseConnectionError(
                f"proxy database {operation}: {exc}", driver_message=str(exc)
            ) from exc

    def _may_write(self, operation: str, params: dict[str, Any]) -> bool:
        if operation == "transaction_commit":
            return True
        if operation not in ("execute", "query", "query_one"):
            return False  # inside a transaction nothing is applied before its commit
        return not _statements.is_read(str(params.get("query", "")), self.db_type)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        async with self._connection() as conn:
            tx_id = await self.call_on(conn, "begin_transaction", {})
            if not isinstance(tx_id, str) or not tx_id:
                raise DatabaseQueryError(f"orchestrator sent a transaction id {tx_id!r}")
            tx = _ProxyTransaction(self, conn, tx_id)
            self._open_tx[tx_id] = conn
            try:
                yield tx
            except BaseException:
                tx.closed = True
                with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                    await self.call_on(conn, "transaction_rollback", {"transaction_id": tx_id})
                raise
            else:
                tx.closed = True
                await self.call_on(conn, "transaction_commit", {"transaction_id": tx_id})
            finally:
                self._open_tx.pop(tx_id, None)

    def transaction(self) -> Any:
        return self._transaction()

    async def ping(self) -> bool:
        try:
            await self.call("ping", {})
        except DatabaseError:
            return False
        return True

    async def close(self) -> None:
        if self._closed:
            return
        try:
            # The reference rolls back every open transaction before it closes.
            for tx_id, conn in list(self._open_tx.items()):
                await self.call_on(conn, "transaction_rollback", {"transaction_id": tx_id})
            for conn in list(self._all):
                await self.call_on(conn, "close", {})
        finally:
            self._closed = True
            self._all.clear()
            self._idle.clear()


def proxy_backend(settings: DatabaseSettings) -> Database:
    """``proxy://sqlite/name`` (or ``postgres``/``mysql``): the orchestrator's database."""
    if settings.url is None:
        return ProxyDatabase(database=settings.database)
    parts = urlsplit(reveal(settings.url))
    db_type = parts.hostname or "sqlite"
    database = parts.path.lstrip("/") or None
    return ProxyDatabase(db_type=db_type, database=database)
