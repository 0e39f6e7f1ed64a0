"""Picking a backend by URL, settings and secrets, and adding one from a third-party plugin."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import pytest
from pydantic import SecretStr

from pywatt.core.errors import PluginError, UnknownComponentError
from pywatt.core.plugins import build_plugins, hookimpl
from pywatt.data import (
    Database,
    DatabaseConfigError,
    DatabaseSettings,
    Transaction,
    open_database,
)

pytestmark = pytest.mark.anyio


def test_data_plugin_registers_the_three_backends(db_plugins):
    registry = db_plugins.database_backends
    assert registry.names() == ["mysql", "postgres", "proxy", "sqlite"]
    assert {registry.owner(n) for n in registry.names()} == {"data"}


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("sqlite:///:memory:", "sqlite"),
        ("sqlite+aiosqlite:///x.db", "sqlite"),
        ("postgres://u@h/db", "postgres"),
        ("postgresql://u@h/db", "postgres"),
        ("postgresql+asyncpg://u@h/db", "postgres"),
        ("mysql://u@h/db", "mysql"),
        ("mariadb://u@h/db", "mysql"),
        ("mysql+aiomysql://u@h/db", "mysql"),
    ],
)
async def test_scheme_picks_the_backend(url, backend, db_plugins):
    db = open_database(url, plugins=db_plugins)
    try:
        assert db.backend == backend
    finally:
        await db.close()


def test_unknown_scheme_lists_what_is_installed(db_plugins):
    with pytest.raises(UnknownComponentError) as info:
        open_database("oracle://scott@db/orcl", plugins=db_plugins)
    assert (
        str(info.value) == "no database backend 'oracle'; installed: mysql, postgres, proxy, sqlite"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg2://u@h/db", "drives asyncpg"),
        ("mysql+mysqldb://u@h/db", "drives aiomysql"),
        ("no-scheme-here", "no scheme"),
    ],
)
def test_urls_the_backends_cannot_drive_are_config_errors(url, message, db_plugins):
    with pytest.raises(DatabaseConfigError, match=message):
        open_database(url, plugins=db_plugins)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "url or a db_type"),
        ({"url": "sqlite://", "max_connections": 0}, "max_connections"),
        ({"url": "sqlite://", "min_connections": 11}, "min_connections"),
        ({"url": "sqlite://", "acquire_timeout": 0}, "acquire_timeout"),
        ({"url": "sqlite://", "db_type": "postgres"}, "contradicts"),
    ],
)
def test_bad_settings_are_config_errors(kwargs, message):
    with pytest.raises(DatabaseConfigError, match=message):
        DatabaseSettings(**kwargs)


def test_pool_defaults_follow_the_protocol():
    s = DatabaseSettings(url="sqlite://")
    assert (s.max_connections, s.min_connections) == (10, 2)
    assert (s.acquire_timeout, s.idle_timeout, s.max_lifetime) == (30.0, 300.0, 1800.0)


class ExposedSecret:
    """The shape of pywatt's own secret values: the text only comes out through expose()."""

    def __init__(self, value: str) -> None:
        self._value = value

    def expose(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "ExposedSecret(***)"


@pytest.mark.parametrize("wrap", [str, ExposedSecret, SecretStr])
async def test_url_may_be_a_secret(wrap, pg_flavor, db_plugins):
    url = pg_flavor.url.replace("postgres@", "postgres:not-checked-by-trust@")
    async with open_database(wrap(url), plugins=db_plugins) as db:
        assert await db.fetch_value("SELECT 41 + 1") == 42
        assert "not-checked-by-trust" not in db.url  # type: ignore[attr-defined]
        assert "***" in db.url  # type: ignore[attr-defined]


async def test_settings_from_parts(pg_flavor, mysql_flavor, db_plugins):
    parts = [
        DatabaseSettings(
            db_type="postgres", host="127.0.0.1", port=5432, username="postgres", database="test"
        ),
        DatabaseSettings(
            db_type="mysql",
            host="127.0.0.1",
            port=3306,
            username="root",
            password=SecretStr(""),
            database="test",
        ),
    ]
    for settings in parts:
        async with open_database(settings, plugins=db_plugins) as db:
            assert await db.fetch_value("SELECT 6 * 7") == 42


def test_importing_pywatt_data_does_not_import_sqlalchemy():
    code = "import sys, pywatt.data; print(sorted(m for m in sys.modules if 'sqlalchemy' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- a third-party backend that does not use SQLAlchemy ----------------------------------


class StdlibSqlite(Database):
    """A deliberately different backend: the stdlib sqlite3 module run in a worker thread."""

    backend = "stdsqlite"

    def __init__(self, settings: DatabaseSettings) -> None:
        url = str(settings.url)
        self._conn = sqlite3.connect(url.split("://", 1)[1] or ":memory:", check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = anyio.Lock()

    async def _call(self, fn: Callable[[], Any]) -> Any:
        async with self._lock:
            return await anyio.to_thread.run_sync(fn)

    async def execute(self, sql: str, params: Any = None) -> int:
        def run() -> int:
            with self._conn:
                return self._conn.execute(sql, params or {}).rowcount

        return int(await self._call(run))

    async def fetch_one(self, sql: str, params: Any = None) -> dict[str, Any] | None:
        row = await self._call(lambda: self._conn.execute(sql, params or {}).fetchone())
        return None if row is None else dict(row)

    async def fetch_all(self, sql: str, params: Any = None) -> list[Any]:
        rows = await self._call(lambda: self._conn.execute(sql, params or {}).fetchall())
        return [dict(r) for r in rows]

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        raise PluginError("stdsqlite has no transactions")

    async def ping(self) -> bool:
        return await self.fetch_value("SELECT 1") == 1

    async def close(self) -> None:
        self._conn.close()


class ThirdPartyPlugin:
    @hookimpl
    def pywatt_register_database_backends(self, register: Callable[[str, Any], None]) -> None:
        register("stdsqlite", StdlibSqlite)


class BadPlugin:
    @hookimpl
    def pywatt_register_database_backends(self, register: Callable[[str, Any], None]) -> None:
        register("notadb", lambda settings: object())


@asynccontextmanager
async def opened(url: str, plugins: Any) -> AsyncIterator[Database]:
    async with open_database(url, plugins=plugins) as db:
        yield db


async def test_third_party_backend_registers_like_the_first_party_ones():
    import importlib.metadata as md

    eps = [ep for ep in md.entry_points(group="pywatt") if ep.name in {"core", "data"}]
    plugins = build_plugins(entry_points=eps, env={}, extra=[("acme", ThirdPartyPlugin())])
    assert plugins.database_backends.names() == [
        "mysql",
        "postgres",
        "proxy",
        "sqlite",
        "stdsqlite",
    ]
    assert plugins.database_backends.owner("stdsqlite") == "acme"
    async with opened("stdsqlite://", plugins) as db:
        assert isinstance(db, StdlibSqlite)
        await db.execute("CREATE TABLE t (id INTEGER, name TEXT)")
        assert await db.execute("INSERT INTO t VALUES (:i, :n)", {"i": 1, "n": "x"}) == 1
        assert await db.fetch_all("SELECT * FROM t") == [{"id": 1, "name": "x"}]
        # fetch_value comes from the ABC, built on the backend's fetch_one.
        assert await db.fetch_value("SELECT name FROM t WHERE id = :i", {"i": 1}) == "x"
        assert await db.fetch_value("SELECT name FROM t WHERE id = 2") is None
        assert await db.ping() is True


def test_backend_that_builds_no_database_is_a_plugin_error():
    plugins = build_plugins(entry_points=[], env={}, extra=[("bad", BadPlugin())])
    with pytest.raises(PluginError, match=r"'notadb' from plugin 'bad' built a object"):
        open_database("notadb://x", plugins=plugins)
