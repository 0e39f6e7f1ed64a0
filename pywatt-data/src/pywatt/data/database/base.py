"""The backend-neutral database API and its configuration.

Nothing here imports SQLAlchemy: a backend that talks to the orchestrator (the ``proxy``
backend) implements the same ABCs without an engine.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

from pywatt.data.errors import DatabaseConfigError

__all__ = [
    "Database",
    "DatabaseSettings",
    "Params",
    "Queries",
    "Row",
    "SecretLike",
    "Transaction",
    "backend_for_scheme",
    "reveal",
]

#: A result row: column name to value.
Row = Mapping[str, Any]
#: Bound parameters for ``:name`` placeholders.
Params = Mapping[str, Any]

_D = TypeVar("_D", bound="Database")

#: URL schemes that name a first-party backend under another spelling.
_SCHEME_ALIASES = {"postgresql": "postgres", "mariadb": "mysql"}


@runtime_checkable
class _Exposable(Protocol):
    def expose(self) -> str: ...


@runtime_checkable
class _PydanticSecret(Protocol):
    def get_secret_value(self) -> str: ...


#: A secret value: a plain ``str`` or an object that reveals it on request.
SecretLike = str | _Exposable | _PydanticSecret


def reveal(value: SecretLike) -> str:
    """The plain text of a secret, which is only ever handed to the driver."""
    if isinstance(value, str):
        return value
    if isinstance(value, _Exposable):
        return value.expose()
    if isinstance(value, _PydanticSecret):
        return value.get_secret_value()
    raise DatabaseConfigError(
        f"expected a str or a secret with expose()/get_secret_value(), got {type(value).__name__}"
    )


def backend_for_scheme(scheme: str) -> str:
    """The backend name for a URL scheme: ``postgresql+asyncpg`` -> ``postgres``."""
    base = scheme.split("+", 1)[0].lower()
    return _SCHEME_ALIASES.get(base, base)


@dataclass(frozen=True)
class DatabaseSettings:
    """How to reach a database and size its pool.

    Give either ``url`` or ``db_type`` with host/port/username/password/database. Pool
    defaults follow PROTOCOL.md section 7.3.1. Passwords are kept out of ``repr``.
    """

    url: SecretLike | None = field(default=None, repr=False)
    db_type: str | None = None
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: SecretLike | None = field(default=None, repr=False)
    database: str | None = None
    extra_params: Mapping[str, str] = field(default_factory=dict)
    max_connections: int = 10
    min_connections: int = 2
    acquire_timeout: float = 30.0
    idle_timeout: float = 300.0
    max_lifetime: float = 1800.0
    #: Test each pooled connection before use; catches connections that died while idle,
    #: which matters inside transactions, where a lost connection is never retried.
    pre_ping: bool = True

    def __post_init__(self) -> None:
        if self.url is None and self.db_type is None:
            raise DatabaseConfigError("database settings need a url or a db_type")
        if self.url is not None and self.db_type is not None:
            url_backend = backend_for_scheme(self._scheme())
            if url_backend != backend_for_scheme(self.db_type):
                raise DatabaseConfigError(
                    f"db_type {self.db_type!r} contradicts the url's scheme {url_backend!r}"
                )
        if self.max_connections < 1:
            raise DatabaseConfigError(f"max_connections must be >= 1, got {self.max_connections}")
        if not 0 <= self.min_connections <= self.max_connections:
            raise DatabaseConfigError(
                f"min_connections must be between 0 and max_connections "
                f"({self.max_connections}), got {self.min_connections}"
            )
        for name in ("acquire_timeout", "idle_timeout", "max_lifetime"):
            if getattr(self, name) <= 0:
                raise DatabaseConfigError(f"{name} must be > 0, got {getattr(self, name)}")

    @classmethod
    def from_url(cls, url: SecretLike, **pool: Any) -> DatabaseSettings:
        return cls(url=url, **pool)

    def _scheme(self) -> str:
        if self.url is None:
            raise DatabaseConfigError("database settings have no url")
        raw = reveal(self.url)
        if "://" not in raw:
            # Never echo the URL itself: it may carry a password.
            raise DatabaseConfigError("database url has no scheme (expected e.g. 'sqlite:///x.db')")
        return urlsplit(raw).scheme or raw.split("://", 1)[0]

    @property
    def backend(self) -> str:
        """The registered backend name these settings ask for."""
        if self.db_type is not None:
            return backend_for_scheme(self.db_type)
        return backend_for_scheme(self._scheme())


class Queries(abc.ABC):
    """The four statement methods shared by a database and a transaction.

    SQL uses ``:name`` placeholders; ``params`` is a mapping from those names to values.
    """

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params | None = None) -> int:
        """Run a statement; the number of rows it affected."""

    @abc.abstractmethod
    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        """The first row, or ``None`` when there is none."""

    @abc.abstractmethod
    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        """Every row."""

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        """The first column of the first row, or ``None`` when there is no row."""
        row = await self.fetch_one(sql, params)
        if row is None:
            return None
        return next(iter(row.values()), None)


class Transaction(Queries):
    """Statements on one connection that commit or roll back together."""


class Database(Queries):
    """A pooled connection to one database, used as ``async with``.

    Statements outside a transaction each run in their own short transaction and commit.
    """

    #: The registered backend name (``sqlite``, ``postgres``, ...).
    backend: str = ""

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Commit on a clean exit; roll back on any exception, cancellation included."""

    @abc.abstractmethod
    async def ping(self) -> bool:
        """Whether the database answers a trivial statement."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close every pooled connection; the database cannot be used afterwards."""

    async def connect(self) -> None:
        """Open connections eagerly so a bad URL fails here, not on first use."""

    async def __aenter__(self: _D) -> _D:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
