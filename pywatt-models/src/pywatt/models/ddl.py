"""SQL for a dialect, written by SQLAlchemy's and Alembic's compilers, statement by statement.

Each function returns a list of statements without terminators, ready to execute one by one;
:func:`generate_complete_sql` joins them into a script.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations, ops as alembic_ops

from pywatt.models.descriptors import ColumnDescriptor, ModelDescriptor
from pywatt.models.dialects import ModelDialect, get_dialect
from pywatt.models.schema import to_metadata

__all__ = [
    "add_column_sql",
    "alter_column_sql",
    "create_sql",
    "drop_column_sql",
    "drop_sql",
    "enum_drop_sql",
    "generate_complete_sql",
    "render_operations",
]


class _Statements:
    """Alembic's offline output buffer: each ``write`` is one statement."""

    def __init__(self, terminator: str) -> None:
        self.statements: list[str] = []
        self._terminator = terminator

    def write(self, text: str) -> None:
        text = text.strip()
        if text.endswith(self._terminator):
            text = text[: -len(self._terminator)].rstrip()
        if text:
            self.statements.append(text)

    def flush(self) -> None:
        pass


def offline_operations(dialect: ModelDialect) -> tuple[Operations, _Statements]:
    """Alembic operations that write SQL for ``dialect`` instead of running it."""
    out = _Statements(";")
    context = MigrationContext.configure(
        dialect=dialect.sa_dialect(),
        opts={"as_sql": True, "output_buffer": out, "literal_binds": True},
    )
    return Operations(context), out


def render_operations(
    operations: Iterable[alembic_ops.MigrateOperation], dialect: str | ModelDialect
) -> list[str]:
    """The SQL of Alembic operations for ``dialect``."""
    ops_, out = offline_operations(get_dialect(dialect))
    for op in operations:
        ops_.invoke(op)
    return out.statements


def _models(models: ModelDescriptor | Sequence[ModelDescriptor]) -> list[ModelDescriptor]:
    return [models] if isinstance(models, ModelDescriptor) else list(models)


def create_sql(
    models: ModelDescriptor | Sequence[ModelDescriptor], dialect: str | ModelDialect
) -> list[str]:
    """CREATE TYPE (PostgreSQL enums), CREATE TABLE in dependency order, then CREATE INDEX."""
    target = get_dialect(dialect)
    metadata = to_metadata(_models(models), target)
    sa_dialect = target.sa_dialect()
    statements: list[str] = []
    if target.supports("enum_type"):
        for enum in _enums(metadata):
            statements.append(_compile(_create_enum(enum), sa_dialect))
    for table in metadata.sorted_tables:
        statements.append(_compile(sa.schema.CreateTable(table), sa_dialect))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            statements.append(_compile(sa.schema.CreateIndex(index), sa_dialect))
    return statements


def drop_sql(
    models: ModelDescriptor | Sequence[ModelDescriptor],
    dialect: str | ModelDialect,
    *,
    if_exists: bool = True,
) -> list[str]:
    """DROP TABLE (dependents first), then DROP TYPE for PostgreSQL enums.

    :param if_exists: ``DROP TABLE IF EXISTS``; enum types are dropped unconditionally.
    """
    target = get_dialect(dialect)
    metadata = to_metadata(_models(models), target)
    sa_dialect = target.sa_dialect()
    statements = [
        _compile(sa.schema.DropTable(table, if_exists=if_exists), sa_dialect)
        for table in reversed(metadata.sorted_tables)
    ]
    if target.supports("enum_type"):
        for enum in _enums(metadata):
            statements.append(enum_drop_sql(enum, target))
    return statements


def generate_complete_sql(
    models: ModelDescriptor | Sequence[ModelDescriptor], dialect: str | ModelDialect
) -> str:
    """The whole CREATE script, one statement per paragraph, each ending in ``;``."""
    return "".join(f"{s};\n\n" for s in create_sql(models, dialect)).rstrip("\n") + "\n"


def add_column_sql(
    model: ModelDescriptor, column: str | ColumnDescriptor, dialect: str | ModelDialect
) -> list[str]:
    """ALTER TABLE ... ADD COLUMN for one of ``model``'s columns (or a new one)."""
    target = get_dialect(dialect)
    col = _column_of(model, column, target)
    return render_operations([alembic_ops.AddColumnOp(model.name, col)], target)


def drop_column_sql(model: ModelDescriptor, column: str, dialect: str | ModelDialect) -> list[str]:
    """ALTER TABLE ... DROP COLUMN."""
    return render_operations([alembic_ops.DropColumnOp(model.name, column)], dialect)


def alter_column_sql(
    model: ModelDescriptor, column: ColumnDescriptor, dialect: str | ModelDialect
) -> list[str]:
    """ALTER COLUMN to ``column``'s type and nullability; SQLite has no such statement."""
    target = get_dialect(dialect)
    target.require("alter_column", "sync_schema rebuilds the table instead (Alembic's batch mode)")
    col = _column_of(model, column, target)
    op = alembic_ops.AlterColumnOp(
        model.name, column.name, modify_type=col.type, modify_nullable=col.nullable
    )
    return render_operations([op], target)


# --- helpers --------------------------------------------------------------------------------


def _column_of(
    model: ModelDescriptor, column: str | ColumnDescriptor, dialect: ModelDialect
) -> sa.Column[Any]:
    if isinstance(column, ColumnDescriptor):
        others = [c for c in model.columns if c.name != column.name]
        model = model.model_copy(update={"columns": [*others, column]})
        name = column.name
    else:
        name = column
    # The column alone: its table's keys and indexes may name tables outside this call.
    model = model.model_copy(update={"constraints": [], "indexes": []})
    table = to_metadata([model], dialect).tables[model.name]
    col = table.c[name]
    return sa.Column(col.name, col.type, nullable=col.nullable, server_default=col.server_default)


def _compile(construct: Any, dialect: Any) -> str:
    return str(construct.compile(dialect=dialect)).strip()


def _enums(metadata: sa.MetaData) -> list[sa.Enum]:
    seen: dict[str, sa.Enum] = {}
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sa.Enum) and column.type.name:
                seen.setdefault(column.type.name, column.type)
    return list(seen.values())


def _create_enum(enum: sa.Enum) -> Any:
    from sqlalchemy.dialects.postgresql import ENUM
    from sqlalchemy.dialects.postgresql.named_types import CreateEnumType

    return CreateEnumType(ENUM(*enum.enums, name=enum.name))


def enum_drop_sql(enum: sa.Enum, dialect: ModelDialect) -> str:
    """DROP TYPE for a PostgreSQL enum (SQLAlchemy's construct has no IF EXISTS)."""
    from sqlalchemy.dialects.postgresql import ENUM
    from sqlalchemy.dialects.postgresql.named_types import DropEnumType

    return _compile(DropEnumType(ENUM(*enum.enums, name=enum.name)), dialect.sa_dialect())
