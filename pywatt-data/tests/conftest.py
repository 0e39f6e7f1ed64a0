from __future__ import annotations

# ============================ database fixtures (begin) ============================
import importlib.metadata as md
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from pywatt.cli.orchestrator.service_backends import ServiceBackends
from pywatt.core.plugins import Plugins, build_plugins
from pywatt.core.testing import require_server
from pywatt.data import Cache, Database, open_cache, open_database
from pywatt.data.testing import DatabaseTraits

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_URL = "mysql://root@127.0.0.1:3306/test"


@dataclass(frozen=True)
class DbFlavor:
    """One backend under test and the column types its DDL needs."""

    name: str
    url: str
    text: str
    blob: str
    table_options: str = ""
    #: For ``proxy``: the database the dev orchestrator serves (None: its own SQLite file).
    served_url: str | None = None

    @property
    def traits(self) -> DatabaseTraits:
        """What the conformance kit needs to know; the proxy's wire carries blobs as base64."""
        return DatabaseTraits(
            backend=self.name,
            text=self.text,
            blob=self.blob,
            table_options=self.table_options,
            blobs_as_base64=self.name == "proxy",
        )

    def ddl(self, table: str, columns: str) -> str:
        return self.traits.ddl(table, columns)


@pytest.fixture(scope="session")
def db_plugins() -> Plugins:
    """Only pywatt-core and pywatt-data's own plugins, whatever else the venv holds."""
    eps = [ep for ep in md.entry_points(group="pywatt") if ep.name in {"core", "data"}]
    return build_plugins(entry_points=eps, env={})


def _flavor(name: str, tmp_path: Path) -> DbFlavor:
    if name == "postgres":
        require_server("PostgreSQL", "127.0.0.1", 5432)
        return DbFlavor("postgres", PG_URL, "TEXT", "BYTEA")
    if name == "mysql":
        require_server("MariaDB", "127.0.0.1", 3306)
        return DbFlavor(
            "mysql", MYSQL_URL, "VARCHAR(255)", "LONGBLOB", " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        )
    if name == "proxy":
        # The dev orchestrator's own database (SQLite), reached through service operations.
        return DbFlavor("proxy", "proxy://sqlite/suite", "TEXT", "BLOB")
    if name.startswith("proxy-"):
        # The same real server as the direct flavor, served by the dev orchestrator.
        server = _flavor(name.removeprefix("proxy-"), tmp_path)
        # The wire has no bytes type: blobs travel as base64 text, so they are stored as text.
        return DbFlavor(
            "proxy",
            f"proxy://{server.name}/test",
            server.text,
            "TEXT",
            server.table_options,
            served_url=server.url,
        )
    return DbFlavor("sqlite", f"sqlite:///{tmp_path / 'suite.db'}", "TEXT", "BLOB")


DB_FLAVORS = ["sqlite", "postgres", "mysql", "proxy", "proxy-postgres", "proxy-mysql"]


@asynccontextmanager
async def serving(flavor: DbFlavor) -> AsyncIterator[ServiceBackends | None]:
    """For a proxy flavor, a loopback dev orchestrator answering its service operations."""
    if flavor.name != "proxy":
        yield None
        return
    from pywatt.cli.orchestrator.loopback import service_loopback

    backends = ServiceBackends(database_url=flavor.served_url)
    try:
        async with service_loopback(backends):
            yield backends
    finally:
        await backends.aclose()


@pytest.fixture(params=DB_FLAVORS)
async def db_flavor(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DbFlavor]:
    flavor = _flavor(request.param, tmp_path)
    async with serving(flavor):
        yield flavor


@pytest.fixture
def flavor_named(tmp_path: Path) -> Callable[[str], DbFlavor]:
    """A flavor by name (skips, or fails under CI, when its server is missing)."""
    return lambda name: _flavor(name, tmp_path)


@pytest.fixture
def serve_flavor() -> Callable[[DbFlavor], AbstractAsyncContextManager[ServiceBackends | None]]:
    """``async with serve_flavor(flavor):`` runs a proxy flavor's dev orchestrator."""
    return serving


@pytest.fixture
def pg_flavor(tmp_path: Path) -> DbFlavor:
    return _flavor("postgres", tmp_path)


@pytest.fixture
def mysql_flavor(tmp_path: Path) -> DbFlavor:
    return _flavor("mysql", tmp_path)


@pytest.fixture
async def make_table_pg(
    pg_flavor: DbFlavor, db_plugins: Plugins
) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """``make_table`` for tests that open their own PostgreSQL databases."""
    made: list[tuple[Database, str]] = []

    async def create(db: Database, columns: str) -> str:
        table = f"pw_{uuid.uuid4().hex[:12]}"
        await db.execute(pg_flavor.ddl(table, columns))
        made.append((db, table))
        return table

    yield create
    async with open_database(pg_flavor.url, plugins=db_plugins) as cleaner:
        for _, table in made:
            await cleaner.execute(f"DROP TABLE IF EXISTS {table}")


# ============================= database fixtures (end) =============================


# ============================== cache fixtures (begin) ==============================
CACHE_BACKENDS = ["memory", "file", "redis", "memcached", "proxy"]


@pytest.fixture(scope="session")
def cache_plugins() -> Plugins:
    """pywatt-core's and pywatt-data's plugins only, whatever else the venv holds."""
    eps = [ep for ep in md.entry_points(group="pywatt") if ep.name in {"core", "data"}]
    return build_plugins(entry_points=eps, env={})


def _cache_url(backend: str, tmp_path: Path) -> str:
    if backend == "redis":
        require_server("Redis", "127.0.0.1", 6379)
        return "redis://127.0.0.1:6379/0"
    if backend == "memcached":
        require_server("memcached", "127.0.0.1", 11211)
        return "memcached://127.0.0.1:11211"
    if backend == "file":
        return f"file://{tmp_path / 'cache'}"
    return "memory://"


@pytest.fixture(params=CACHE_BACKENDS)
def cache_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def our_caches(
    cache_backend: str, cache_plugins: Plugins, tmp_path: Path
) -> AsyncIterator[Callable[..., Cache]]:
    """Open more caches on the backend under test (same server, directory or store kind)."""
    opened: list[Cache] = []
    if cache_backend == "proxy":
        # The orchestrator's own cache, reached through real service_request/operation lines.
        from pywatt.cli.orchestrator.loopback import service_loopback
        from pywatt.data.cache.proxy import ProxyCache

        async with service_loopback() as client:

            def make_proxy(namespace: str | None) -> Cache:
                cache = ProxyCache(client=client, namespace=namespace)
                opened.append(cache)
                return cache

            yield make_proxy
            for cache in opened:
                await cache.close()
        return
    url = _cache_url(cache_backend, tmp_path)

    def make(namespace: str | None) -> Cache:
        cache = open_cache(url, namespace=namespace, plugins=cache_plugins)
        opened.append(cache)
        return cache

    yield make
    for cache in opened:
        if cache.namespace is not None:
            await cache.flush()
        await cache.close()


# =============================== cache fixtures (end) ===============================
