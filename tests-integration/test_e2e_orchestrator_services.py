"""The orchestrator's service backends on pywatt-data (URL-configured database and cache)."""

from __future__ import annotations

import pytest

from pywatt.cli.orchestrator import ServiceBackends
from pywatt.core.messages import ServiceOperation, ServiceRequest

pytestmark = pytest.mark.anyio


async def _connect(services: ServiceBackends, kind: str) -> str:
    ok, conn, error = await services.handle_request(ServiceRequest(id="r", service_type=kind))
    assert ok, error
    assert conn is not None
    return conn


async def _op(services: ServiceBackends, conn: str, kind: str, op: str, **params):
    msg = ServiceOperation(connection_id=conn, service_type=kind, operation=op, params=params)
    ok, result, error = await services.handle_operation(msg)
    assert ok, error
    return result


async def test_database_url_backend_with_transactions(tmp_path):
    services = ServiceBackends(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        db = await _connect(services, "Database")
        await _op(
            services,
            db,
            "Database",
            "execute",
            query="CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)",
            params=[],
        )
        ins = "INSERT INTO t (name) VALUES (?)"
        assert await _op(services, db, "Database", "execute", query=ins, params=["a"]) == 1
        tx = await _op(services, db, "Database", "begin_transaction")
        await _op(
            services,
            db,
            "Database",
            "transaction_execute",
            query=ins,
            params=["rolled back"],
            transaction_id=tx,
        )
        await _op(services, db, "Database", "transaction_rollback", transaction_id=tx)
        tx = await _op(services, db, "Database", "begin_transaction")
        await _op(
            services,
            db,
            "Database",
            "transaction_execute",
            query=ins,
            params=["kept"],
            transaction_id=tx,
        )
        await _op(services, db, "Database", "transaction_commit", transaction_id=tx)
        rows = await _op(
            services,
            db,
            "Database",
            "query",
            query="SELECT name FROM t WHERE name != '?' ORDER BY id",
            params=[],
        )
        assert rows == [{"data": {"name": "a"}}, {"data": {"name": "kept"}}]
    finally:
        await services.aclose()


async def test_cache_url_backend():
    services = ServiceBackends(cache_url="memory://")
    try:
        cache = await _connect(services, "Cache")
        await _op(services, cache, "Cache", "set", key="k", value="dmFsdWU=", ttl_seconds=60)
        assert await _op(services, cache, "Cache", "get", key="k") == "dmFsdWU="
        assert await _op(services, cache, "Cache", "increment", key="n", delta=2) == 2
        stats = await _op(services, cache, "Cache", "stats")
        assert isinstance(stats["additional_metrics"], dict)
        assert stats["hits"] == 1
    finally:
        await services.aclose()
