"""Target dialects: what each can do, its identifier limit and its column types.

A dialect is a :class:`ModelDialect` registered through ``pywatt_register_model_dialects``;
the three first-party ones come from pywatt-models' own plugin. A third-party dialect
(DuckDB, CockroachDB...) registers its own, naming the SQLAlchemy dialect that compiles its
SQL and overriding or adding column types.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

    from pywatt.core.plugins import Plugins
    from pywatt.models.descriptors import ColumnDescriptor

__all__ = [
    "BASE_TYPES",
    "FEATURES",
    "ModelDialect",
    "TypeFactory",
    "dialect_names",
    "get_dialect",
]

#: Builds the SQLAlchemy type of one column.
TypeFactory = Callable[["ColumnDescriptor"], Any]

#: Features a dialect may lack; each names what an error message says.
FEATURES = {
    "partial_index": "partial indexes (an index with a WHERE clause)",
    "alter_column": "ALTER COLUMN (changing a column's type, nullability or default in place)",
    "enum_type": "named enum types (CREATE TYPE ... AS ENUM)",
    "transactional_ddl": "transactional DDL",
    "table_options": "table options (engine, charset, collation)",
}

#: Aliases accepted wherever a dialect is named.
_ALIASES = {"postgres": "postgresql", "mariadb": "mysql", "sqlite3": "sqlite"}


def _enum(col: ColumnDescriptor) -> Any:
    return sa.Enum(*(col.enum_values or []), name=col.enum_name or f"{col.name}_enum")


BASE_TYPES: dict[str, TypeFactory] = {
    "integer": lambda c: sa.Integer(),
    "biginteger": lambda c: sa.BigInteger(),
    "smallinteger": lambda c: sa.SmallInteger(),
    "float": lambda c: sa.Float(),
    "double": lambda c: sa.Double(),
    "decimal": lambda c: sa.Numeric(c.precision or 10, c.scale or 0),
    "boolean": lambda c: sa.Boolean(),
    "string": lambda c: sa.String(c.length),
    "text": lambda c: sa.Text(),
    "date": lambda c: sa.Date(),
    "time": lambda c: sa.Time(),
    "datetime": lambda c: sa.DateTime(timezone=c.timezone),
    "json": lambda c: sa.JSON(),
    "uuid": lambda c: sa.Uuid(),
    "binary": lambda c: sa.LargeBinary(),
    "enum": _enum,
}

_MYSQL_TYPES: dict[str, TypeFactory] = {
    # MySQL's TEXT holds 64 KiB; LONGTEXT is what "text without a limit" means elsewhere.
    "text": lambda c: mysql.LONGTEXT(),
    "binary": lambda c: mysql.LONGBLOB(),
    "datetime": lambda c: mysql.DATETIME(fsp=6) if not c.timezone else mysql.TIMESTAMP(fsp=6),
}
_PG_TYPES: dict[str, TypeFactory] = {"json": lambda c: postgresql.JSONB()}


@dataclass(frozen=True)
class ModelDialect:
    """One target: the SQLAlchemy dialect that compiles for it and what it supports.

    :param name: the name used on the command line and in errors (``postgresql``).
    :param sqlalchemy_name: the SQLAlchemy dialect module under ``sqlalchemy.dialects``.
    :param max_identifier_length: the longest table, column, index or constraint name.
    :param features: the names from :data:`FEATURES` this dialect supports.
    :param types: column types added or overridden, on top of :data:`BASE_TYPES`.
    """

    name: str
    sqlalchemy_name: str
    max_identifier_length: int | None
    features: frozenset[str]
    types: Mapping[str, TypeFactory] = field(default_factory=dict)

    def supports(self, feature: str) -> bool:
        return feature in self.features

    def require(self, feature: str, hint: str = "") -> None:
        from pywatt.models.errors import UnsupportedFeatureError

        if feature not in self.features:
            raise UnsupportedFeatureError(FEATURES.get(feature, feature), self.name, hint)

    def type_names(self) -> set[str]:
        return set(BASE_TYPES) | set(self.types)

    def column_type(self, column: ColumnDescriptor) -> Any:
        factory = self.types.get(column.type) or BASE_TYPES.get(column.type)
        if factory is None:
            from pywatt.models.errors import ModelsError

            raise ModelsError(f"{self.name} has no column type {column.type!r}")
        return factory(column)

    def sa_dialect(self) -> Dialect:
        """A SQLAlchemy dialect instance to compile with (no driver needed)."""
        module = importlib.import_module(f"sqlalchemy.dialects.{self.sqlalchemy_name}")
        dialect: Dialect = module.dialect()
        return dialect


SQLITE = ModelDialect("sqlite", "sqlite", None, frozenset({"partial_index", "transactional_ddl"}))
POSTGRESQL = ModelDialect(
    "postgresql",
    "postgresql",
    63,
    frozenset({"partial_index", "alter_column", "enum_type", "transactional_ddl"}),
    _PG_TYPES,
)
MYSQL = ModelDialect(
    "mysql", "mysql", 64, frozenset({"alter_column", "table_options"}), _MYSQL_TYPES
)
FIRST_PARTY = (SQLITE, POSTGRESQL, MYSQL)


def _registry(plugins: Plugins | None) -> Any:
    from pywatt.core.plugins import get_plugins

    return (plugins if plugins is not None else get_plugins()).model_dialects


def get_dialect(name: str | ModelDialect, *, plugins: Plugins | None = None) -> ModelDialect:
    """The registered dialect ``name`` (``postgres`` and ``mariadb`` are aliases)."""
    if isinstance(name, ModelDialect):
        return name
    key = _ALIASES.get(name.lower(), name.lower())
    registry = _registry(plugins)
    found = registry.get(key)
    if not isinstance(found, ModelDialect):
        from pywatt.core.errors import PluginError

        raise PluginError(
            f"model dialect {key!r} from plugin {registry.owner(key)!r} is a "
            f"{type(found).__name__}, not a pywatt.models.ModelDialect"
        )
    return found


def dialect_names(*, plugins: Plugins | None = None) -> list[str]:
    names: list[str] = _registry(plugins).names()
    return names
