"""Migrations on a ``pywatt.data`` database: ``await sync_schema(db, models)``.

Everything runs in one ``db.transaction()``: reflection, every step's DDL and the version row.
PostgreSQL and SQLite roll all of it back if any step fails. MySQL/MariaDB commit each DDL
statement as it runs (no transactional DDL), so a failure midway leaves the earlier steps in
place and no version row; :class:`MigrationError` lists them and the next run plans only what
is still missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.util import greenlet_spawn

from pywatt.models._dbapi import shim_engine
from pywatt.models.dialects import ModelDialect, get_dialect
from pywatt.models.errors import ModelsError
from pywatt.models.migrations import (
    DEFAULT_VERSION_TABLE,
    MigrationPlan,
    MigrationResult,
    apply_on,
    plan_on,
)

if TYPE_CHECKING:
    import sqlalchemy as sa

    from pywatt.data import Database
    from pywatt.models.descriptors import ModelDescriptor

__all__ = ["database_dialect", "diff_schema", "sync_schema"]

T = TypeVar("T")
_BACKENDS = {"postgres": "postgresql", "mariadb": "mysql"}


def database_dialect(db: Database) -> ModelDialect:
    """The schema dialect of a database (a proxy database: its remote's)."""
    backend = db.backend
    remote = getattr(db, "db_type", None)  # the proxy database names its remote's type
    if backend in ("", "proxy") and isinstance(remote, str):
        backend = remote
    try:
        return get_dialect(_BACKENDS.get(backend, backend))
    except LookupError:
        raise ModelsError(
            f"no schema dialect for database backend {backend!r}; pass dialect=..."
        ) from None


async def _run(
    db: Database,
    dialect: str | ModelDialect | None,
    work: Callable[[sa.Connection, ModelDialect], T],
) -> T:
    target = get_dialect(dialect) if dialect is not None else database_dialect(db)

    def in_greenlet(engine: sa.Engine) -> T:
        with engine.connect() as conn:
            return work(conn, target)

    async with db.transaction() as tx:
        engine = shim_engine(target.sqlalchemy_name, tx)
        try:
            return await greenlet_spawn(in_greenlet, engine)
        finally:
            engine.dispose()


async def diff_schema(
    db: Database,
    models: Sequence[ModelDescriptor],
    *,
    dialect: str | ModelDialect | None = None,
    version_table: str = DEFAULT_VERSION_TABLE,
) -> MigrationPlan:
    """The plan that would bring ``db`` to ``models``; nothing is changed."""

    def work(conn: Any, target: ModelDialect) -> MigrationPlan:
        return plan_on(conn, models, target, version_table=version_table)

    return await _run(db, dialect, work)


async def sync_schema(
    db: Database,
    models: Sequence[ModelDescriptor],
    *,
    allow_destructive: bool = False,
    dialect: str | ModelDialect | None = None,
    version_table: str = DEFAULT_VERSION_TABLE,
) -> MigrationResult:
    """Bring ``db`` to ``models``; a second call with the same models does nothing.

    :param allow_destructive: run steps that drop tables or columns or narrow a type;
        without it such a plan raises :class:`DestructiveChangeError` and nothing runs.
    :param dialect: the schema dialect, when the database's backend does not name one.
    :param version_table: where applied revisions are recorded.
    """

    def work(conn: Any, target: ModelDialect) -> MigrationResult:
        return apply_on(
            conn, models, target, allow_destructive=allow_destructive, version_table=version_table
        )

    return await _run(db, dialect, work)
