"""The corpus, created on each real server through pywatt.data, read back by SQLAlchemy's
inspector and compared with the models it came from."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.util import greenlet_spawn

from pywatt.data import Database
from pywatt.models import (
    ModelDescriptor,
    create_model,
    create_simple_model,
    create_sql,
    drop_sql,
    to_metadata,
)
from pywatt.models._dbapi import shim_engine
from pywatt.models.migrations import _type_text
from pywatt.models.sync import database_dialect

pytestmark = pytest.mark.anyio


def corpus(p: str, dialect: str) -> list[ModelDescriptor]:
    """The corpus with table names prefixed; MySQL gets no partial index (it has none)."""
    partial = (
        None if dialect == "mysql" else "active = true" if dialect == "postgresql" else "active = 1"
    )
    mysql_opts = {"engine": "InnoDB", "charset": "utf8mb4", "collation": "utf8mb4_unicode_ci"}
    teams = (
        create_simple_model(f"{p}teams")
        .add_varchar_column("name", 100, nullable=False, unique=True)
        .add_enum_column("tier", ["free", "pro", "team"], enum_name=f"{p}tier", default="free")
        .add_boolean_column("active", nullable=False, default=True)
        .add_timestamps()
        .table_options(**mysql_opts)
        .build()
    )
    users = (
        create_simple_model(f"{p}users")
        .add_integer_column("team_id", references=f"{p}teams.id", on_delete="CASCADE")
        .add_integer_column("manager_id")
        .add_foreign_key(
            ["manager_id"], f"{p}users", ["id"], on_delete="SET NULL", on_update="CASCADE"
        )
        .add_varchar_column("email", 255, nullable=False)
        .add_boolean_column("active", nullable=False, default=False)
        .add_unique("team_id", "email", name=f"uq_{p}users_team_email")
        .add_index(f"ix_{p}users_active", "email", where=partial)
        .build(known=[teams])
    )
    memberships = (
        create_model(f"{p}memberships")
        .add_integer_column("user_id", nullable=False)
        .add_integer_column("team_id", nullable=False)
        .add_varchar_column("role", 20, nullable=False, default="member")
        .add_primary_key("user_id", "team_id")
        .add_foreign_key(["user_id"], f"{p}users", ["id"], on_delete="CASCADE")
        .add_foreign_key(["team_id"], f"{p}teams", ["id"], on_delete="RESTRICT")
        .build(known=[teams, users])
    )
    prices = (
        create_simple_model(f"{p}prices")
        .add_decimal_column("amount", 12, 2, nullable=False, default=0)
        .add_float_column("ratio", default=0.5)
        .add_column("big", "biginteger", default=9000000000)
        .add_column("small", "smallinteger", default=7)
        .add_check("amount_positive", "amount >= 0")
        .add_check("ratio_unit", "ratio BETWEEN 0 AND 1")
        .build()
    )
    events = (
        create_simple_model(f"{p}events")
        .add_date_column("day", nullable=False, default="2024-01-02")
        .add_column("at", "time", default="12:30:00")
        .add_datetime_column("created", nullable=False, default_sql="CURRENT_TIMESTAMP")
        .add_varchar_column("label", 40, nullable=False, default="it's: here")
        .add_index(f"ix_{p}events_day_label", "day", "label")
        .build()
    )
    documents = (
        create_simple_model(f"{p}documents")
        .add_json_column("body")
        .add_uuid_column("public_id", nullable=False, unique=True)
        .add_binary_column("blob")
        .add_text_column("notes")
        .table_options(**mysql_opts)
        .build()
    )
    categories = (
        create_simple_model(f"{p}categories")
        .add_integer_column("parent_id")
        .add_varchar_column("slug", 60, nullable=False)
        .add_foreign_key(["parent_id"], f"{p}categories", ["id"], on_delete="CASCADE")
        .add_index(f"ix_{p}categories_slug", "parent_id", "slug", unique=True)
        .build()
    )
    tags = (
        create_model(f"{p}tags")
        .add_varchar_column("name", 50, primary_key=True)
        .add_integer_column("uses", nullable=False, default=0)
        .add_check("uses_not_negative", "uses >= 0")
        .build()
    )
    document_tags = (
        create_model(f"{p}document_tags")
        .add_integer_column("document_id", nullable=False)
        .add_varchar_column("tag", 50, nullable=False)
        .add_primary_key("document_id", "tag")
        .add_foreign_key(
            ["document_id"], f"{p}documents", ["id"], on_delete="CASCADE", on_update="CASCADE"
        )
        .add_foreign_key(["tag"], f"{p}tags", ["name"], on_delete="NO ACTION")
        .build(known=[documents, tags])
    )
    audit = (
        create_simple_model(f"{p}audit")
        .add_column("seq", "biginteger", nullable=False)
        .add_enum_column(
            "level", ["info", "warn"], enum_name=f"{p}level", nullable=False, default="info"
        )
        .add_datetime_column("logged", timezone=True)
        .add_index(f"ix_{p}audit_seq", "seq", unique=True)
        .table_options(engine="InnoDB", charset="latin1", collation="latin1_swedish_ci")
        .build()
    )
    return [
        teams,
        users,
        memberships,
        prices,
        events,
        documents,
        categories,
        tags,
        document_tags,
        audit,
    ]


async def reflect(db: Database, work: Any) -> Any:
    dialect = database_dialect(db)
    async with db.transaction() as tx:
        engine = shim_engine(dialect.sqlalchemy_name, tx)

        def run() -> Any:
            with engine.connect() as conn:
                return work(sa.inspect(conn))

        return await greenlet_spawn(run)


def check_table(insp: Any, model: ModelDescriptor, table: sa.Table, dialect: Any) -> None:
    name = model.name
    columns = {c["name"]: c for c in insp.get_columns(name)}
    assert list(columns) == [c.name for c in model.columns]
    for col in model.columns:
        live = columns[col.name]
        assert live["nullable"] == (col.nullable and not col.primary_key), col.name
        expected = _type_text(table.c[col.name].type, dialect)
        assert _type_text(live["type"], dialect) == expected, col.name
        if col.type == "enum" and dialect.name != "sqlite":
            assert sorted(live["type"].enums) == sorted(col.enum_values or [])
        if col.default is not None:
            shown = str(live["default"])
            literal = {True: ("1", "true"), False: ("0", "false")}.get(
                col.default, (str(col.default),)
            )  # type: ignore[call-overload]
            assert any(v.replace("'", "") in shown.replace("'", "") for v in literal), (
                col.name,
                shown,
            )
        elif col.default_sql is not None:
            assert "current_timestamp" in str(live["default"]).lower(), col.name
        elif not col.primary_key:
            assert live["default"] in (None, "NULL"), (col.name, live["default"])
    assert insp.get_pk_constraint(name)["constrained_columns"] == model.primary_key()

    fks = {
        (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]),
         (fk["options"].get("ondelete") or "NO ACTION").upper(),
         (fk["options"].get("onupdate") or "NO ACTION").upper())
        for fk in insp.get_foreign_keys(name)
    }  # fmt: skip
    wanted = {
        (tuple(c.columns), c.ref_table, tuple(c.ref_columns), c.on_delete or "NO ACTION",
         c.on_update or "NO ACTION")
        for c in model.constraints if c.kind == "foreign_key"
    }  # fmt: skip
    if dialect.name == "mysql":  # MariaDB reports RESTRICT for "no action"
        fks = {(*f[:3], *(("NO ACTION" if a == "RESTRICT" else a) for a in f[3:])) for f in fks}
        wanted = {
            (*w[:3], *(("NO ACTION" if a == "RESTRICT" else a) for a in w[3:])) for w in wanted
        }
    assert fks == wanted

    indexes = {ix["name"]: ix for ix in insp.get_indexes(name)}
    for index in model.indexes:
        live_ix = indexes[index.name]
        assert live_ix["column_names"] == index.columns
        assert bool(live_ix["unique"]) == index.unique
        where = live_ix.get("dialect_options", {}).get(f"{dialect.name}_where")
        assert (where is not None) == (index.where is not None), index.name

    uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints(name)}
    uniques |= {tuple(ix["column_names"]) for ix in indexes.values() if ix["unique"]}
    for c in model.constraints:
        if c.kind == "unique":
            assert tuple(c.columns) in uniques
    for col in model.columns:
        if col.unique:
            assert (col.name,) in uniques

    checks = {c["name"]: c["sqltext"] for c in insp.get_check_constraints(name)}
    for c in model.constraints:
        if c.kind == "check":
            assert f"ck_{name}_{c.name}" in checks, checks

    if dialect.name == "mysql" and model.engine:
        options = insp.get_table_options(name)
        assert options["mysql_engine"] == model.engine
        assert options["mysql_default charset"] == model.charset
        assert options.get("mysql_collate", "latin1_swedish_ci") == model.collation


async def test_corpus_is_created_and_reads_back_as_modelled(db: Database, prefix: str):
    dialect = database_dialect(db)
    models = corpus(prefix, dialect.name)
    assert len(models) >= 10
    for statement in create_sql(models, dialect):
        await db.execute(statement)
    metadata = to_metadata(models, dialect)

    def compare(insp: Any) -> list[str]:
        for model in models:
            check_table(insp, model, metadata.tables[model.name], dialect.sa_dialect())
        return sorted(n for n in insp.get_table_names() if n.startswith(prefix))

    assert await reflect(db, compare) == sorted(m.name for m in models)

    # Defaults apply on the server: a row given only its required values gets the rest.
    await db.execute(f"INSERT INTO {prefix}prices (id) VALUES (1)")
    row = await db.fetch_one(f"SELECT amount, ratio, big, small FROM {prefix}prices")
    assert row is not None
    assert (float(row["amount"]), row["ratio"], row["big"], row["small"]) == (
        0.0,
        0.5,
        9000000000,
        7,
    )
    await db.execute(f"INSERT INTO {prefix}teams (name) VALUES ('a')")
    team = await db.fetch_one(f"SELECT tier, active FROM {prefix}teams")
    assert team is not None
    assert (team["tier"], bool(team["active"])) == ("free", True)

    drops = drop_sql(models, dialect)
    for statement in drops:
        await db.execute(statement)
    if dialect.name == "postgresql":
        assert sorted(drops[-2:]) == [f"DROP TYPE {prefix}level", f"DROP TYPE {prefix}tier"]
        types = await db.fetch_value(
            "SELECT COUNT(*) FROM pg_type WHERE typname IN (:a, :b)",
            {"a": f"{prefix}tier", "b": f"{prefix}level"},
        )
        assert types == 0
    assert (
        await reflect(db, lambda insp: [n for n in insp.get_table_names() if n.startswith(prefix)])
        == []
    )
