"""Opening a database by URL or settings through the registered backends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.errors import PluginError
from pywatt.data.database.base import Database, DatabaseSettings, SecretLike

if TYPE_CHECKING:
    from pywatt.core.plugins import Plugins

__all__ = ["mysql_backend", "open_database", "postgres_backend", "sqlite_backend"]


def open_database(
    target: DatabaseSettings | SecretLike, *, plugins: Plugins | None = None
) -> Database:
    """Build the database the URL's scheme (or ``db_type``) names; it connects on first use.

    :param target: a URL such as ``postgresql://u@h/db`` (a str or a secret object), or settings.
    :param plugins: the plugins to pick the backend from (default: the installed ones).
    """
    from pywatt.core.plugins import get_plugins

    settings = target if isinstance(target, DatabaseSettings) else DatabaseSettings(url=target)
    registry = (plugins if plugins is not None else get_plugins()).database_backends
    name = settings.backend
    database = registry.get(name)(settings)
    if not isinstance(database, Database):
        raise PluginError(
            f"database backend {name!r} from plugin {registry.owner(name)!r} built a "
            f"{type(database).__name__}, not a pywatt.data.Database"
        )
    return database


# The backend factories import SQLAlchemy only when a database is actually built.


def sqlite_backend(settings: DatabaseSettings) -> Database:
    """SQLite through aiosqlite: a file, or ``sqlite:///:memory:``."""
    from pywatt.data.database._sa import SqlAlchemyDatabase

    return SqlAlchemyDatabase(settings, backend="sqlite")


def postgres_backend(settings: DatabaseSettings) -> Database:
    """PostgreSQL through asyncpg (the ``postgres`` extra)."""
    from pywatt.data.database._sa import SqlAlchemyDatabase

    return SqlAlchemyDatabase(settings, backend="postgres")


def mysql_backend(settings: DatabaseSettings) -> Database:
    """MySQL and MariaDB through aiomysql (the ``mysql`` extra)."""
    from pywatt.data.database._sa import SqlAlchemyDatabase

    return SqlAlchemyDatabase(settings, backend="mysql")
