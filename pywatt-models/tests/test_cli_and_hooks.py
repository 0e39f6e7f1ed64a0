from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pywatt.core.plugins import build_plugins, hookimpl
from pywatt.models import (
    ModelDialect,
    create_simple_model,
    create_sql,
    dump_models,
    from_metadata,
    generate_complete_sql,
    get_dialect,
)
from pywatt.models.cli import models_command
from pywatt.models.dialects import FEATURES


def schema_file(tmp_path: Path, prefix: str = "shop_") -> Path:
    model = (
        create_simple_model(f"{prefix}orders")
        .add_varchar_column("ref", 20, nullable=False, unique=True)
        .add_enum_column("state", ["new", "paid"], enum_name=f"{prefix}state", default="new")
        .build()
    )
    path = tmp_path / "schema.json"
    path.write_text(dump_models([model]))
    return path


def test_models_sql_prints_the_ddl(tmp_path: Path):
    result = CliRunner().invoke(
        models_command, ["sql", str(schema_file(tmp_path)), "--dialect", "postgres"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "CREATE TYPE shop_state AS ENUM ('new', 'paid');\n\n"
        "CREATE TABLE shop_orders (\n"
        "\tid SERIAL NOT NULL, \n"
        "\tref VARCHAR(20) NOT NULL, \n"
        "\tstate shop_state DEFAULT 'new', \n"
        "\tCONSTRAINT pk_shop_orders PRIMARY KEY (id), \n"
        "\tCONSTRAINT uq_shop_orders_ref UNIQUE (ref)\n"
        ");\n"
    )


def test_models_sql_names_an_unknown_dialect(tmp_path: Path):
    result = CliRunner().invoke(
        models_command, ["sql", str(schema_file(tmp_path)), "--dialect", "oracle"]
    )
    assert result.exit_code == 1
    assert "no model dialect 'oracle'; installed: mysql, postgresql, sqlite" in result.output


def test_models_diff_then_apply_then_apply_again(tmp_path: Path, prefix: str):
    path = schema_file(tmp_path, prefix)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    diff = runner.invoke(models_command, ["diff", str(path), "--url", url])
    assert diff.exit_code == 0, diff.output
    assert diff.output.startswith("-- sqlite: 1 step(s), revision ")
    assert f"-- 1. create table {prefix}orders\nCREATE TABLE {prefix}orders (" in diff.output
    applied = runner.invoke(models_command, ["apply", str(path), "--url", url])
    assert applied.exit_code == 0, applied.output
    assert applied.output.endswith(f"(1 step(s)):\n  create table {prefix}orders\n")
    again = runner.invoke(models_command, ["apply", str(path), "--url", url])
    assert again.output == "nothing to apply: the database matches the models\n"
    path.write_text(dump_models([]))
    refused = runner.invoke(models_command, ["apply", str(path), "--url", url])
    assert refused.exit_code == 1
    assert f"  - drop table {prefix}orders" in refused.output
    forced = runner.invoke(
        models_command, ["apply", str(path), "--url", url, "--allow-destructive"]
    )
    assert forced.exit_code == 0
    assert f"drop table {prefix}orders" in forced.output


class AcmePlugin:
    """A third-party dialect: PostgreSQL's compiler, its own name, limit and a type override."""

    @staticmethod
    @hookimpl
    def pywatt_register_model_dialects(register):
        register(
            "acmedb",
            ModelDialect(
                "acmedb", "postgresql", 30, frozenset({"enum_type"}),
                {"json": lambda c: sa.Text(), "money": lambda c: sa.Numeric(19, 4)},
            ),
        )  # fmt: skip


def test_a_third_party_dialect_adds_types_and_limits():
    import importlib.metadata as md

    eps = [ep for ep in md.entry_points(group="pywatt") if ep.name in {"core", "data", "models"}]
    plugins = build_plugins(entry_points=eps, extra=[("acme", AcmePlugin)], env={})
    acme = get_dialect("acmedb", plugins=plugins)
    assert plugins.model_dialects.owner("acmedb") == "acme"
    assert plugins.model_dialects.names() == ["acmedb", "mysql", "postgresql", "sqlite"]
    model = (
        create_simple_model("t")
        .add_json_column("j")
        .add_column("m", "money")
        .build(dialects=[acme])
    )
    assert create_sql(model, acme)[0].splitlines()[2:4] == ["\tj TEXT, ", "\tm NUMERIC(19, 4), "]
    with pytest.raises(Exception, match="acmedb does not support partial indexes"):
        create_sql(create_simple_model("t").add_index("ix", "id", where="id > 1").build(), acme)
    assert set(acme.features) <= set(FEATURES)


def test_a_dialect_of_the_wrong_kind_names_its_plugin():
    import importlib.metadata as md

    from pywatt.core.errors import PluginError

    class Sloppy:
        @staticmethod
        @hookimpl
        def pywatt_register_model_dialects(register):
            register("sloppy", {"name": "sloppy"})

    eps = [ep for ep in md.entry_points(group="pywatt") if ep.name == "models"]
    plugins = build_plugins(entry_points=eps, extra=[("sloppy-plugin", Sloppy)], env={})
    with pytest.raises(PluginError) as info:
        get_dialect("sloppy", plugins=plugins)
    # Refused at registration: the lookup raises the plugin's error.
    assert str(info.value) == (
        "plugin 'sloppy-plugin' registered model dialect 'sloppy' in "
        "pywatt_register_model_dialects: got a builtins.dict instance, lacking name, "
        "sqlalchemy_name; expected a pywatt.models.ModelDialect instance"
    )


def test_sqlite_cannot_alter_a_column_in_place():
    from pywatt.models import UnsupportedFeatureError, alter_column_sql

    model = create_simple_model("t").add_varchar_column("s", 10).build()
    widened = model.columns[1].model_copy(update={"length": 20})
    with pytest.raises(UnsupportedFeatureError) as info:
        alter_column_sql(model, widened, "sqlite")
    assert str(info.value) == (
        "sqlite does not support ALTER COLUMN (changing a column's type, nullability or default "
        "in place); sync_schema rebuilds the table instead (Alembic's batch mode)"
    )
    assert alter_column_sql(model, widened, "mysql") == ["ALTER TABLE t MODIFY s VARCHAR(20) NULL"]


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    mentor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authors.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(server_default=sa.true())
    __table_args__ = (sa.Index("ix_authors_active", "active", "name"),)


def test_declarative_models_are_a_source():
    models = from_metadata(Base.metadata)
    assert [m.name for m in models] == ["authors"]
    (authors,) = models
    assert [(c.name, c.type) for c in authors.columns] == [
        ("id", "integer"), ("name", "string"), ("mentor_id", "integer"), ("active", "boolean"),
    ]  # fmt: skip
    assert authors.constraints[0].kind == "foreign_key"
    assert authors.constraints[0].on_delete == "SET NULL"
    assert authors.indexes[0].columns == ["active", "name"]
    sql = generate_complete_sql(models, "mysql")
    assert "FOREIGN KEY(mentor_id) REFERENCES authors (id) ON DELETE SET NULL" in sql
    assert "CREATE INDEX ix_authors_active ON authors (active, name)" in sql


def test_models_sql_reports_every_schema_problem(tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text(
        '[{"name": "t", "columns": [{"name": "e", "type": "enum"}, {"name": "e", "type": "x"}]}]'
    )
    result = CliRunner().invoke(models_command, ["sql", str(path), "--dialect", "sqlite"])
    assert result.exit_code == 1
    assert "Error: 3 schema problems:\n  - duplicate column 't.e'\n" in result.output
    assert "  - enum column 't.e' has no values\n" in result.output
    assert "  - unknown column type 'x' for 't.e'; known: " in result.output
