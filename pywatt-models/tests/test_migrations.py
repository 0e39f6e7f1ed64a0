"""Migrations on the three servers and through the orchestrator's proxy: each is applied,
re-diffed to empty, re-applied as a no-op, and rows in untouched columns survive."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pywatt.core.plugins import Plugins
from pywatt.data import Database
from pywatt.models import (
    DestructiveChangeError,
    ModelBuilder,
    create_simple_model,
    diff_schema,
    sync_schema,
)

pytestmark = pytest.mark.anyio


def items(prefix: str, *, note_length: int = 50, extra: bool = False, index: bool = False,
          qty: bool = True, renamed: bool = False) -> ModelBuilder:  # fmt: skip
    b = create_simple_model(f"{prefix}items").add_varchar_column("note", note_length)
    if qty:
        b.add_integer_column("quantity" if not renamed else "amount", nullable=False, default=0)
    if extra:
        b.add_boolean_column("archived", nullable=False, default=False)
    if index:
        b.add_index(f"ix_{prefix}items_note", "note")
    return b


async def step(db: Database, prefix: str, builder: ModelBuilder, **kw: bool) -> list[str]:
    """Apply, check the re-diff is empty and a second apply does nothing."""
    versions = f"{prefix}versions"
    models = [builder.build()]
    result = await sync_schema(db, models, version_table=versions, **kw)
    assert result.applied
    assert (await diff_schema(db, models, version_table=versions)).empty
    again = await sync_schema(db, models, version_table=versions, **kw)
    assert not again.applied
    assert again.plan.empty
    return plain(result.applied_steps)


def plain(steps: list[str]) -> list[str]:
    """Step names without SQLite's note that it rebuilds the table to make the change."""
    return [s.removesuffix(" (table rebuild)") for s in steps]


async def check_migrations(db: Database, prefix: str) -> None:
    table, versions = f"{prefix}items", f"{prefix}versions"
    assert await step(db, prefix, items(prefix)) == [f"create table {table}"]
    await db.execute(f"INSERT INTO {table} (note, quantity) VALUES ('kept', 7)")

    assert await step(db, prefix, items(prefix, extra=True)) == [f"add column {table}.archived"]
    assert await step(db, prefix, items(prefix, extra=True, index=True)) == [
        f"create index ix_{prefix}items_note on {table}"
    ]
    widened = await step(db, prefix, items(prefix, note_length=200, extra=True, index=True))
    assert len(widened) == 1
    assert widened[0].startswith(
        f"alter column {table}.note: type VARCHAR(50) -> VARCHAR(200) (widens)"
    )
    row = await db.fetch_one(f"SELECT note, quantity, archived FROM {table}")
    assert row is not None
    assert (row["note"], row["quantity"], bool(row["archived"])) == (
        "kept",
        7,
        False,
    )

    narrowed = items(prefix, note_length=20, extra=True, index=True)
    with pytest.raises(DestructiveChangeError) as narrowing:
        await sync_schema(db, [narrowed.build()], version_table=versions)
    assert plain(narrowing.value.steps) == [
        f"alter column {table}.note: type VARCHAR(200) -> VARCHAR(20) (narrows)"
    ]

    dropped = items(prefix, note_length=200, extra=True, index=True, qty=False)
    with pytest.raises(DestructiveChangeError) as refused:
        await sync_schema(db, [dropped.build()], version_table=versions)
    assert plain(refused.value.steps) == [f"drop column {table}.quantity"]
    assert str(refused.value) == (
        "refusing destructive changes (pass allow_destructive=True or --allow-destructive):\n"
        f"  - {refused.value.steps[0]}"
    )
    assert (await db.fetch_one(f"SELECT quantity FROM {table}")) == {"quantity": 7}

    renamed = items(prefix, note_length=200, extra=True, index=True, renamed=True)
    with pytest.raises(DestructiveChangeError) as rename:
        await sync_schema(db, [renamed.build()], version_table=versions)
    assert plain(rename.value.steps) == [f"drop column {table}.quantity"]

    assert await step(db, prefix, dropped, allow_destructive=True) == [
        f"drop column {table}.quantity"
    ]
    row = await db.fetch_one(f"SELECT note, archived FROM {table}")
    assert row is not None
    assert row["note"] == "kept"
    revisions = await db.fetch_all(f"SELECT revision FROM {versions} ORDER BY id")
    assert len(revisions) == 5
    assert len({r["revision"] for r in revisions}) == 5

    # A table no longer in the model set is dropped only when allowed; others are never seen.
    with pytest.raises(DestructiveChangeError, match=f"drop table {table}"):
        await sync_schema(db, [], version_table=versions)
    await sync_schema(db, [], version_table=versions, allow_destructive=True)
    assert (await diff_schema(db, [], version_table=versions)).empty


async def test_migrations_on_each_server(db: Database, prefix: str):
    await check_migrations(db, prefix)


@pytest.fixture
async def proxy_db(plugins: Plugins, prefix: str) -> AsyncIterator[Database]:
    """The dev orchestrator's own SQLite, reached through service operations."""
    from pywatt.cli.orchestrator.loopback import service_loopback
    from pywatt.data import open_database

    async with (
        service_loopback(),
        open_database(f"proxy://sqlite/{prefix}", plugins=plugins) as database,
    ):
        yield database


async def test_migrations_through_the_proxy_backend(proxy_db: Database, prefix: str):
    from pywatt.data.database.proxy import ProxyDatabase

    assert isinstance(proxy_db, ProxyDatabase)
    await check_migrations(proxy_db, prefix)


async def test_a_failing_step_names_itself_and_what_stays_applied(db: Database, prefix: str):
    from pywatt.models import MigrationError
    from pywatt.models.sync import database_dialect

    versions, table = f"{prefix}versions", f"{prefix}good"
    good = create_simple_model(table).add_integer_column("v")
    await sync_schema(db, [good.build()], version_table=versions)
    await db.execute(f"INSERT INTO {table} (v) VALUES (1)")
    await db.execute(f"INSERT INTO {table} (v) VALUES (1)")
    # Two steps: a column that can be added, then a unique index the rows violate.
    broken = (
        create_simple_model(table)
        .add_integer_column("v")
        .add_integer_column("w")
        .add_index(f"ux_{table}", "v", unique=True)
    )
    with pytest.raises(MigrationError) as info:
        await sync_schema(db, [broken.build()], version_table=versions)
    message = str(info.value)
    assert message.startswith(f"step 'create index ux_{table} on {table}' failed on ")
    left = await diff_schema(db, [good.build()], version_table=versions)
    if database_dialect(db).supports("transactional_ddl"):
        assert message.endswith("; nothing was applied (rolled back)")
        assert info.value.applied == []
        assert left.empty
    else:  # MySQL/MariaDB: the added column was committed by its own DDL statement
        assert message.endswith(
            "; mysql commits each DDL statement, so the steps before it stay applied: "
            f"add column {table}.w"
        )
        assert info.value.applied == [f"add column {table}.w"]
        assert [s.description for s in left.steps] == [f"drop column {table}.w"]
    assert len(await db.fetch_all(f"SELECT revision FROM {versions}")) == 1
