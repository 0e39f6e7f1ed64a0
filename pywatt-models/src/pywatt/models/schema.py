"""Descriptors to SQLAlchemy ``MetaData`` and back.

Constraint and index names follow one naming convention, so the SQL is the same on every run
and a migration can name what it drops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from pywatt.models.descriptors import (
    ColumnDescriptor,
    ConstraintDescriptor,
    IndexDescriptor,
    ModelDescriptor,
)
from pywatt.models.dialects import ModelDialect, get_dialect
from pywatt.models.errors import SchemaValidationError
from pywatt.models.validation import validate_models

__all__ = ["NAMING_CONVENTION", "from_metadata", "to_metadata"]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _server_default(col: ColumnDescriptor) -> Any:
    if col.default_sql is not None:
        return sa.text(col.default_sql)
    value = col.default
    if value is None:
        return None
    if isinstance(value, bool):
        return sa.true() if value else sa.false()
    if isinstance(value, (int, float)):
        return sa.text(repr(value))
    return value  # a str: SQLAlchemy quotes it for the dialect


def _column(col: ColumnDescriptor, dialect: ModelDialect, pk_inline: bool) -> sa.Column[Any]:
    return sa.Column(
        col.name,
        dialect.column_type(col),
        nullable=col.nullable and not col.primary_key,
        primary_key=col.primary_key and pk_inline,
        autoincrement=col.autoincrement if col.primary_key else False,
        unique=col.unique or None,
        server_default=_server_default(col),
    )


def _constraint(con: ConstraintDescriptor) -> sa.Constraint:
    if con.kind == "primary_key":
        return sa.PrimaryKeyConstraint(*con.columns, name=con.name)
    if con.kind == "unique":
        return sa.UniqueConstraint(*con.columns, name=con.name)
    if con.kind == "check":
        return sa.CheckConstraint(sa.text(con.expression or ""), name=con.name)
    return sa.ForeignKeyConstraint(
        con.columns,
        [f"{con.ref_table}.{c}" for c in con.ref_columns],
        name=con.name,
        ondelete=con.on_delete,
        onupdate=con.on_update,
    )


def _index(index: IndexDescriptor, table: sa.Table, dialect: ModelDialect) -> sa.Index:
    options: dict[str, Any] = {}
    if index.where is not None:
        dialect.require("partial_index", f"index '{index.name}' on '{table.name}' has a WHERE")
        options[f"{dialect.sqlalchemy_name}_where"] = sa.text(index.where)
    return sa.Index(
        index.name, *(table.c[c] for c in index.columns), unique=index.unique, **options
    )


def to_metadata(
    models: Sequence[ModelDescriptor],
    dialect: str | ModelDialect,
    *,
    metadata: sa.MetaData | None = None,
) -> sa.MetaData:
    """SQLAlchemy tables for ``models`` as ``dialect`` builds them (validated first)."""
    target = get_dialect(dialect)
    problems = validate_models(models, [target])
    if problems:
        raise SchemaValidationError(problems)
    metadata = (
        metadata if metadata is not None else sa.MetaData(naming_convention=NAMING_CONVENTION)
    )
    for model in models:
        has_pk_constraint = any(c.kind == "primary_key" for c in model.constraints)
        items: list[Any] = [_column(c, target, not has_pk_constraint) for c in model.columns]
        items += [_constraint(c) for c in model.constraints]
        options: dict[str, Any] = {
            "mysql_engine": model.engine,
            "mysql_charset": model.charset,
            "mysql_collate": model.collation,
        }
        table = sa.Table(
            model.name, metadata, *items, **{k: v for k, v in options.items() if v is not None}
        )
        for index in model.indexes:
            _index(index, table, target)
    return metadata


# --- from SQLAlchemy ------------------------------------------------------------------------

_TYPE_ORDER: list[tuple[type[Any], str]] = [
    (sa.Enum, "enum"),
    (sa.Boolean, "boolean"),
    (sa.BigInteger, "biginteger"),
    (sa.SmallInteger, "smallinteger"),
    (sa.Integer, "integer"),
    (sa.Double, "double"),
    (sa.Float, "float"),
    (sa.Numeric, "decimal"),
    (sa.Text, "text"),
    (sa.String, "string"),
    (sa.DateTime, "datetime"),
    (sa.Date, "date"),
    (sa.Time, "time"),
    (sa.JSON, "json"),
    (sa.Uuid, "uuid"),
    (sa.LargeBinary, "binary"),
]


def _type_fields(column: sa.Column[Any]) -> dict[str, Any]:
    kind = type(column.type)
    name = next((n for t, n in _TYPE_ORDER if issubclass(kind, t)), None)
    if name is None:
        from pywatt.models.errors import ModelsError

        raise ModelsError(f"column '{column.table.name}.{column.name}' has unmapped type {kind}")
    fields: dict[str, Any] = {"type": name}
    col_type: Any = column.type
    if name == "string":
        fields["length"] = col_type.length
    elif name == "decimal":
        fields.update(precision=col_type.precision, scale=col_type.scale)
    elif name == "datetime" and col_type.timezone:
        fields["timezone"] = True
    elif name == "enum":
        fields.update(enum_values=list(col_type.enums), enum_name=col_type.name)
    return fields


def _default_fields(column: sa.Column[Any]) -> dict[str, Any]:
    server = column.server_default
    if isinstance(server, sa.DefaultClause):
        arg = server.arg
        if isinstance(arg, str):
            return {"default": arg}
        return {"default_sql": str(arg)}
    default = column.default
    if default is not None and getattr(default, "is_scalar", False):
        return {"default": getattr(default, "arg", None)}
    return {}


def from_metadata(metadata: sa.MetaData) -> list[ModelDescriptor]:
    """Descriptors for every table of ``metadata`` (declarative ``Base.metadata`` included)."""
    models: list[ModelDescriptor] = []
    for table in metadata.sorted_tables:
        pk = [c.name for c in table.primary_key.columns]
        columns = [
            ColumnDescriptor(
                name=c.name,
                nullable=bool(c.nullable) and not c.primary_key,
                primary_key=c.primary_key and len(pk) == 1,
                autoincrement=c.primary_key
                and c.autoincrement in (True, "auto")
                and len(pk) == 1
                and isinstance(c.type, sa.Integer),
                unique=bool(c.unique),
                **_type_fields(c),
                **_default_fields(c),
            )
            for c in table.columns
        ]
        constraints: list[ConstraintDescriptor] = []
        if len(pk) > 1:
            constraints.append(ConstraintDescriptor(kind="primary_key", columns=pk))
        for con in table.constraints:
            name = con.name if isinstance(con.name, str) else None
            if isinstance(con, sa.ForeignKeyConstraint):
                constraints.append(
                    ConstraintDescriptor(
                        kind="foreign_key",
                        name=name,
                        columns=[c.name for c in con.columns],
                        ref_table=con.referred_table.name,
                        ref_columns=[e.column.name for e in con.elements],
                        on_delete=con.ondelete,
                        on_update=con.onupdate,
                    )
                )
            elif isinstance(con, sa.CheckConstraint) and not _is_type_check(con):
                constraints.append(
                    ConstraintDescriptor(kind="check", name=name, expression=str(con.sqltext))
                )
            elif isinstance(con, sa.UniqueConstraint) and not all(c.unique for c in con.columns):
                constraints.append(
                    ConstraintDescriptor(
                        kind="unique", name=name, columns=[c.name for c in con.columns]
                    )
                )
        indexes = [
            IndexDescriptor(
                name=str(ix.name),
                columns=[c.name for c in ix.columns],
                unique=bool(ix.unique),
                where=_where(ix),
            )
            for ix in sorted(table.indexes, key=lambda i: str(i.name))
        ]
        kwargs = table.kwargs
        models.append(
            ModelDescriptor(
                name=table.name,
                columns=columns,
                indexes=indexes,
                constraints=constraints,
                engine=kwargs.get("mysql_engine"),
                charset=kwargs.get("mysql_charset"),
                collation=kwargs.get("mysql_collate"),
            )
        )
    return models


def _is_type_check(con: sa.CheckConstraint) -> bool:
    """Constraints a Boolean or Enum type adds on its own are not the user's."""
    return bool(getattr(con, "_type_bound", False))


def _where(index: sa.Index) -> str | None:
    for dialect in ("postgresql", "sqlite"):
        where = index.dialect_options[dialect]._non_defaults.get("where")
        if where is not None:
            return str(where)
    return None
