from __future__ import annotations

import importlib.metadata as md
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pywatt.core.plugins import Plugins, build_plugins
from pywatt.core.testing import require_server
from pywatt.data import Database, open_database

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_URL = "mysql://root@127.0.0.1:3306/test"
SERVERS = ["sqlite", "postgres", "mysql"]


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    """pywatt-core's, pywatt-data's and pywatt-models' plugins, whatever else is installed."""
    eps = [ep for ep in md.entry_points(group="pywatt") if ep.name in {"core", "data", "models"}]
    return build_plugins(entry_points=eps, env={})


@pytest.fixture(autouse=True)
def _models_plugins(plugins: Plugins, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dialect lookups by name see exactly these plugins."""
    import pywatt.core.plugins as core_plugins

    monkeypatch.setattr(core_plugins, "_plugins", plugins)


def server_url(name: str, tmp_path: Path) -> str:
    if name == "postgres":
        require_server("PostgreSQL", "127.0.0.1", 5432)
        return PG_URL
    if name == "mysql":
        require_server("MariaDB", "127.0.0.1", 3306)
        return MYSQL_URL
    return f"sqlite:///{tmp_path / 'models.db'}"


@pytest.fixture
def prefix() -> str:
    """Every table a test makes starts with this, so runs on shared servers never collide."""
    return f"pm_{uuid.uuid4().hex[:8]}_"


@pytest.fixture(params=SERVERS)
async def db(
    request: pytest.FixtureRequest, tmp_path: Path, plugins: Plugins, prefix: str
) -> AsyncIterator[Database]:
    async with open_database(server_url(request.param, tmp_path), plugins=plugins) as database:
        yield database
        await drop_prefixed(database, prefix)


async def drop_prefixed(db: Database, prefix: str) -> None:
    """Drop every table (and PostgreSQL enum type) whose name starts with ``prefix``."""
    from sqlalchemy.util import greenlet_spawn

    from pywatt.models._dbapi import shim_engine
    from pywatt.models.sync import database_dialect

    dialect = database_dialect(db)

    def names(engine: Any) -> list[str]:
        import sqlalchemy as sa

        with engine.connect() as conn:
            tables = sa.MetaData()
            tables.reflect(conn, only=lambda name, _md: name.startswith(prefix))
            return [t.name for t in reversed(tables.sorted_tables)]

    async with db.transaction() as tx:
        tables = await greenlet_spawn(names, shim_engine(dialect.sqlalchemy_name, tx))
    for table in tables:
        await db.execute(f"DROP TABLE IF EXISTS {table}")
    if dialect.name == "postgresql":
        for row in await db.fetch_all(
            "SELECT typname FROM pg_type WHERE typname LIKE :p",
            {"p": prefix.replace("_", "\\_") + "%"},
        ):
            await db.execute(f"DROP TYPE IF EXISTS {row['typname']}")
