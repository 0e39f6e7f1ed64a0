"""Plan and apply a migration on one SQLAlchemy connection, with Alembic's comparison.

The plan is Alembic's autogenerate diff (``produce_migrations``) between the models and the
live tables, turned into ordered steps, each with the SQL Alembic writes for it offline. What
``diff`` shows is exactly what ``apply`` runs. Only tables in the model set, or recorded as
managed by an earlier revision in the version table, are compared: other tables in the same
database are never touched.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import ops

from pywatt.models.ddl import enum_drop_sql, offline_operations, render_operations
from pywatt.models.descriptors import ModelDescriptor, dump_models
from pywatt.models.dialects import ModelDialect
from pywatt.models.errors import DestructiveChangeError, MigrationError
from pywatt.models.schema import to_metadata

__all__ = [
    "DEFAULT_VERSION_TABLE",
    "MigrationPlan",
    "MigrationResult",
    "MigrationStep",
    "apply_on",
    "plan_on",
]

DEFAULT_VERSION_TABLE = "pywatt_schema_versions"


@dataclass(frozen=True)
class MigrationStep:
    """One change, in the order it runs; ``destructive`` ones can lose data."""

    description: str
    destructive: bool
    sql: tuple[str, ...]


@dataclass(frozen=True)
class MigrationPlan:
    dialect: str
    revision: str
    steps: tuple[MigrationStep, ...]

    @property
    def empty(self) -> bool:
        return not self.steps

    @property
    def destructive_steps(self) -> list[MigrationStep]:
        return [s for s in self.steps if s.destructive]

    def sql(self) -> list[str]:
        return [stmt for step in self.steps for stmt in step.sql]

    def render(self) -> str:
        """The plan as text: numbered steps, each followed by its SQL."""
        if self.empty:
            return f"-- {self.dialect}: the database matches the models; nothing to do\n"
        lines = [f"-- {self.dialect}: {len(self.steps)} step(s), revision {self.revision}"]
        for number, step in enumerate(self.steps, 1):
            mark = " [destructive]" if step.destructive else ""
            lines.append(f"-- {number}. {step.description}{mark}")
            lines += [f"{stmt};" for stmt in step.sql]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class MigrationResult:
    plan: MigrationPlan
    #: Whether anything ran; ``False`` when the database already matched (a no-op).
    applied: bool
    applied_steps: list[str] = field(default_factory=list)


def revision_of(models: Sequence[ModelDescriptor]) -> str:
    """A stable id for a model set: the hash of its canonical JSON."""
    canonical = dump_models(sorted(models, key=lambda m: m.name))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# --- the version table ----------------------------------------------------------------------


def _version_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("revision", sa.String(64), nullable=False),
        sa.Column("tables", sa.Text, nullable=False),
        sa.Column("steps", sa.Text, nullable=False),
        sa.Column("applied_at", sa.String(40), nullable=False),
    )


def _managed_tables(conn: sa.Connection, table: sa.Table) -> set[str]:
    if not sa.inspect(conn).has_table(table.name):
        return set()
    row = conn.execute(sa.select(table.c.tables).order_by(table.c.id.desc()).limit(1)).scalar()
    return set(json.loads(row)) if row else set()


# --- type comparison ------------------------------------------------------------------------

_INT_WIDTH = re.compile(r"\b(TINYINT|SMALLINT|MEDIUMINT|INTEGER|INT|BIGINT)\(\d+\)")
_SYNONYMS = {
    "mysql": {"BOOL": "TINYINT", "BOOLEAN": "TINYINT", "JSON": "LONGTEXT", "INT": "INTEGER"},
    "postgresql": {"FLOAT": "DOUBLE PRECISION", "DOUBLE": "DOUBLE PRECISION"},
}
_WIDER = ["SMALLINT", "INTEGER", "BIGINT"]


def _type_text(type_: Any, dialect: Any) -> str:
    text = type_.compile(dialect=dialect).upper()
    text = re.sub(r"\s+(CHARACTER SET|COLLATE)\s+\w+", "", text)
    text = _INT_WIDTH.sub(r"\1", text).replace("NUMERIC", "DECIMAL")
    return _SYNONYMS.get(dialect.name, {}).get(text, text)


def _type_comparer(dialect: Any) -> Any:
    """Alembic's ``compare_type``, on the dialect the DDL is written for (not, say, the
    MariaDB flavour the live connection reports, which spells some types differently)."""

    def compare(
        context: MigrationContext,
        inspected_column: Any,
        metadata_column: Any,
        inspected_type: Any,
        metadata_type: Any,
    ) -> bool:
        return _type_text(inspected_type, dialect) != _type_text(metadata_type, dialect)

    return compare


def _widens(old: str, new: str) -> bool:
    """Whether every value of ``old`` fits ``new`` (a longer string, a bigger integer)."""
    if old == new:
        return True
    if old in _WIDER and new in _WIDER:
        return _WIDER.index(new) >= _WIDER.index(old)
    if new in {"TEXT", "LONGTEXT"} and old.startswith(("VARCHAR", "CHAR", "TEXT")):
        return True
    sized = re.compile(r"^(\w+)\((\d+)\)$")
    a, b = sized.match(old), sized.match(new)
    if a and b and a.group(1) == b.group(1):
        return int(b.group(2)) >= int(a.group(2))
    decimal = re.compile(r"^DECIMAL\((\d+), (\d+)\)$")
    a, b = decimal.match(old), decimal.match(new)
    if a and b:
        return int(b.group(2)) >= int(a.group(2)) and (
            int(b.group(1)) - int(b.group(2)) >= int(a.group(1)) - int(a.group(2))
        )
    return old in {"FLOAT", "REAL"} and new in {"DOUBLE", "DOUBLE PRECISION"}


# --- planning -------------------------------------------------------------------------------


#: Each kind of Alembic operation: whether it can lose data, and how a step names it.
_KINDS: list[tuple[type[Any], bool, Callable[[Any, str], str]]] = [
    (ops.CreateTableOp, False, lambda op, t: f"create table {op.table_name}"),
    (ops.DropTableOp, True, lambda op, t: f"drop table {op.table_name}"),
    (ops.AddColumnOp, False, lambda op, t: f"add column {t}.{op.column.name}"),
    (ops.DropColumnOp, True, lambda op, t: f"drop column {t}.{op.column_name}"),
    (ops.CreateIndexOp, False, lambda op, t: f"create index {op.index_name} on {t}"),
    (ops.DropIndexOp, False, lambda op, t: f"drop index {op.index_name} on {t}"),
    (ops.AlterColumnOp, False, lambda op, t: f"alter column {t}.{op.column_name}"),
    (ops.AddConstraintOp, False, lambda op, t: f"add {op.constraint_type} constraint on {t}"),
    (ops.DropConstraintOp, False, lambda op, t: f"drop constraint {op.constraint_name} on {t}"),
]


def _describe(op: ops.MigrateOperation, table: str) -> tuple[str, bool]:
    """What the step says, and whether it is destructive (anything unknown counts as such)."""
    for kind, destructive, say in _KINDS:
        if isinstance(op, kind):
            return say(op, table), destructive
    return f"{type(op).__name__} on {table}", True


def _alter_details(op: ops.AlterColumnOp, dialect: Any) -> tuple[str, bool]:
    parts: list[str] = []
    destructive = False
    if op.modify_type is not None:
        old = _type_text(op.existing_type, dialect) if op.existing_type is not None else "?"
        new = _type_text(op.modify_type, dialect)
        widens = _widens(old, new)
        destructive = not widens
        parts.append(f"type {old} -> {new} ({'widens' if widens else 'narrows'})")
    if op.modify_nullable is not None:
        parts.append("nullable" if op.modify_nullable else "NOT NULL")
    return ", ".join(parts), destructive


def _needs_rebuild(op: ops.MigrateOperation, dialect: ModelDialect) -> bool:
    if dialect.supports("alter_column"):
        return False
    return isinstance(op, (ops.AlterColumnOp, ops.DropColumnOp, ops.AddConstraintOp,
                           ops.DropConstraintOp))  # fmt: skip


def _rebuild_sql(
    conn: sa.Connection, table: str, sub: Sequence[ops.MigrateOperation], dialect: ModelDialect
) -> list[str]:
    """SQLite: copy the table into its new shape with Alembic's batch mode."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
    operations, out = offline_operations(dialect)
    with operations.batch_alter_table(table, copy_from=reflected, recreate="always") as batch:
        for op in sub:
            batch.invoke(op)
    return out.statements


def _table_steps(
    conn: sa.Connection, group: ops.ModifyTableOps, dialect: ModelDialect
) -> list[MigrationStep]:
    steps: list[MigrationStep] = []
    # A rebuild copies the table as it is now, so every change to it goes into the rebuild.
    rebuild = list(group.ops) if any(_needs_rebuild(op, dialect) for op in group.ops) else []
    for op in group.ops:
        description, destructive = _describe(op, group.table_name)
        if isinstance(op, ops.AlterColumnOp):
            detail, destructive = _alter_details(op, dialect.sa_dialect())
            if dialect.sqlalchemy_name != "mysql":
                # Only MySQL restates AUTO_INCREMENT; Alembic warns on the others.
                op.kw.pop("existing_autoincrement", None)
                op.kw.pop("autoincrement", None)
            description += f": {detail}"
        if op in rebuild:
            steps.append(MigrationStep(description + " (table rebuild)", destructive, ()))
        else:
            steps.append(
                MigrationStep(description, destructive, tuple(render_operations([op], dialect)))
            )
    if rebuild:
        sql = tuple(_rebuild_sql(conn, group.table_name, rebuild, dialect))
        index = max(i for i, s in enumerate(steps) if s.description.endswith("(table rebuild)"))
        last = steps[index]
        steps[index] = MigrationStep(last.description, last.destructive, sql)
    return steps


def _enum_drops(op: ops.DropTableOp, metadata: sa.MetaData, dialect: ModelDialect) -> list[str]:
    """PostgreSQL: the dropped table's enum types, unless a remaining table uses them."""
    if not dialect.supports("enum_type"):
        return []
    kept = {
        c.type.name
        for t in metadata.tables.values()
        for c in t.columns
        if isinstance(c.type, sa.Enum)
    }
    enums = [
        c.type
        for c in op.to_table().columns
        if isinstance(c.type, sa.Enum) and c.type.name and c.type.name not in kept
    ]
    return [enum_drop_sql(e, dialect) for e in enums]


def _dependents_first(drops: list[ops.DropTableOp]) -> list[ops.DropTableOp]:
    """Drop a table only once nothing left references it (MySQL checks at once)."""
    left = {op.table_name: op for op in drops}
    refs = {
        name: {fk.referred_table.name for fk in op.to_table().foreign_key_constraints} - {name}
        for name, op in left.items()
    }
    ordered: list[ops.DropTableOp] = []
    while left:
        free = sorted(n for n in left if not any(n in refs[o] for o in left if o != n))
        for name in free or sorted(left)[:1]:  # a cycle: go on in name order
            ordered.append(left.pop(name))
    return ordered


def plan_on(
    conn: sa.Connection,
    models: Sequence[ModelDescriptor],
    dialect: ModelDialect,
    *,
    version_table: str = DEFAULT_VERSION_TABLE,
) -> MigrationPlan:
    """The steps that bring the live tables to ``models``."""
    metadata = to_metadata(models, dialect)
    wanted = {m.name for m in models} | _managed_tables(conn, _version_table(version_table))
    wanted.discard(version_table)

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return name in wanted if type_ == "table" else True

    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": _type_comparer(dialect.sa_dialect()),
            "include_name": include_name,
            "target_metadata": metadata,
        },
    )
    script = produce_migrations(context, metadata)
    found = list(script.upgrade_ops.ops) if script.upgrade_ops else []
    dropped = {op.table_name for op in found if isinstance(op, ops.DropTableOp)}
    steps: list[MigrationStep] = []
    for op in found:
        if isinstance(op, (ops.DropIndexOp, ops.DropConstraintOp, ops.ModifyTableOps)) and (
            op.table_name in dropped
        ):
            continue  # the table takes them along (and MySQL refuses to drop an FK's index)
        if isinstance(op, ops.DropTableOp):
            continue  # last, dependents first
        if isinstance(op, ops.ModifyTableOps):
            steps += _table_steps(conn, op, dialect)
            continue
        description, destructive = _describe(op, getattr(op, "table_name", ""))
        steps.append(
            MigrationStep(description, destructive, tuple(render_operations([op], dialect)))
        )
    for op in _dependents_first([op for op in found if isinstance(op, ops.DropTableOp)]):
        sql = render_operations([op], dialect) + _enum_drops(op, metadata, dialect)
        steps.append(MigrationStep(f"drop table {op.table_name}", True, tuple(sql)))
    return MigrationPlan(dialect.name, revision_of(models), tuple(steps))


def apply_on(
    conn: sa.Connection,
    models: Sequence[ModelDescriptor],
    dialect: ModelDialect,
    *,
    allow_destructive: bool = False,
    version_table: str = DEFAULT_VERSION_TABLE,
) -> MigrationResult:
    """Plan, refuse destructive steps unless allowed, run the SQL, record the revision.

    The caller owns the transaction. A database without transactional DDL (MySQL) commits each
    statement as it runs, so a failure leaves the steps before it applied; the error lists
    them, and the next run plans only what is still missing.
    """
    plan = plan_on(conn, models, dialect, version_table=version_table)
    if plan.empty:
        return MigrationResult(plan, applied=False)
    refused = plan.destructive_steps
    if refused and not allow_destructive:
        raise DestructiveChangeError([s.description for s in refused])
    done: list[str] = []
    for step in plan.steps:
        try:
            for stmt in step.sql:
                conn.exec_driver_sql(stmt)
        except Exception as exc:
            message = f"step '{step.description}' failed on {dialect.name}: {_reason(exc)}"
            if dialect.supports("transactional_ddl"):
                raise MigrationError(message + "; nothing was applied (rolled back)") from exc
            kept = "; ".join(done) or "none"
            raise MigrationError(
                f"{message}; {dialect.name} commits each DDL statement, so the steps before it "
                f"stay applied: {kept}",
                applied=done,
            ) from exc
        done.append(step.description)
    table = _version_table(version_table)
    table.create(conn, checkfirst=True)
    managed = sorted({m.name for m in models})
    conn.execute(
        table.insert().values(
            revision=plan.revision,
            tables=json.dumps(managed),
            steps=json.dumps(done),
            applied_at=datetime.datetime.now(datetime.timezone.utc).isoformat(),
        )
    )
    return MigrationResult(plan, applied=True, applied_steps=done)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    cause = orig.__cause__ or orig
    return str(cause).split("\n[SQL:", 1)[0]
