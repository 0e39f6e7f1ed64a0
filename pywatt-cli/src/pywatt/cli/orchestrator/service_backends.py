"""Answers to ``service_request`` / ``service_operation`` (§7.3) from local backends."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import tempfile
import uuid
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any

from pywatt.cli.orchestrator._databases import DataDatabaseConnection, DbConnection
from pywatt.cli.orchestrator._jwt import JwtService
from pywatt.core._wire import dumps
from pywatt.core.errors import ServiceError

if TYPE_CHECKING:
    from pywatt.cli.orchestrator.secret_source import SecretSource
    from pywatt.core.messages import ServiceOperation, ServiceRequest

__all__ = ["ServiceBackends"]

logger = logging.getLogger("pywatt.cli.orchestrator")


class ServiceBackends:
    """Database, Cache and Jwt services the dev orchestrator offers its modules.

    :param database_url: serve Database through ``pywatt.data.open_database(url)``;
        by default a SQLite file in a temporary directory (or ``sqlite_path``).
    :param cache_url: serve Cache through ``pywatt.data.open_cache(url)``; by default in memory.
    :param jwt_secret: the secret holding the Jwt service's keys (needs pywatt-auth).
    """

    def __init__(
        self,
        *,
        database_url: str | None = None,
        cache_url: str | None = None,
        sqlite_path: str | None = None,
        jwt_secret: str = "JWT_SECRET",
    ) -> None:
        self.database_url = database_url
        self.jwt_secret = jwt_secret
        #: Set by the orchestrator: where the Jwt service reads its keys.
        self.secrets: SecretSource | None = None
        self._jwt: JwtService | None = None
        self.cache_url = cache_url
        self._sqlite_path = sqlite_path
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._cache: Any = None
        self._database: Any = None
        self._db_connections: dict[str, DbConnection] = {}
        self._cache_connections: set[str] = set()

    # -- connections ------------------------------------------------------------------------

    def _new_db_connection(self) -> DbConnection:
        if self._database is None:
            from pywatt.data import open_database

            url = self.database_url
            if url is None:
                if self._sqlite_path is None:
                    self._tempdir = tempfile.TemporaryDirectory(prefix="pywatt-orch-db-")
                    self._sqlite_path = os.path.join(self._tempdir.name, "services.sqlite3")
                url = f"sqlite:///{self._sqlite_path}"
            self._database = open_database(url)
        return DataDatabaseConnection(self._database)

    def _cache_backend(self) -> Any:
        if self._cache is None:
            from pywatt.data import open_cache

            self._cache = open_cache(self.cache_url or "memory://")
        return self._cache

    def _jwt_service(self) -> JwtService:
        if self._jwt is None:
            from pywatt.cli.orchestrator.secret_source import SecretSource

            self._jwt = JwtService(self.secrets or SecretSource(), self.jwt_secret)
        return self._jwt

    async def handle_request(self, msg: ServiceRequest) -> tuple[bool, str | None, str | None]:
        """``(success, connection_id, error)`` for one ``service_request``."""
        kind = msg.service_type
        try:
            if kind == "Database":
                connection_id = f"conn-db-{uuid.uuid4()}"
                conn = self._new_db_connection()
                asked = msg.config.get("db_type") if isinstance(msg.config, dict) else None
                served = self._database.backend
                if asked not in (None, served):
                    # The wire SQL's placeholder style follows db_type ('?' or '$1').
                    return False, None, f"this orchestrator serves {served}, not {asked!r}"
                self._db_connections[connection_id] = conn
            elif kind == "Cache":
                self._cache_backend()
                connection_id = f"conn-cache-{uuid.uuid4()}"
                self._cache_connections.add(connection_id)
            elif kind == "Jwt":
                connection_id = self._jwt_service().connect(msg.config)
            else:
                name = kind if isinstance(kind, str) else f"Custom {kind.name!r}"
                return False, None, f"the dev orchestrator offers no {name} service"
        except Exception as exc:
            logger.warning("service_request %s failed: %s", msg.id, exc)
            text = str(exc) if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
            return False, None, text
        return True, connection_id, None

    async def handle_operation(self, msg: ServiceOperation) -> tuple[bool, Any, str | None]:
        """``(success, result, error)`` for one ``service_operation``; never raises."""
        try:
            params = msg.params if isinstance(msg.params, dict) else {}
            if msg.service_type == "Database":
                return True, await self._database_op(msg.connection_id, msg.operation, params), None
            if msg.service_type == "Cache":
                return True, await self._cache_op(msg.connection_id, msg.operation, params), None
            if msg.service_type == "Jwt":
                jwt = self._jwt_service()
                return True, await jwt.operation(msg.connection_id, msg.operation, params), None
            raise ServiceError(f"no service of type {msg.service_type!r}")
        except Exception as exc:
            text = str(exc) if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
            return False, None, text

    async def aclose(self) -> None:
        for conn in self._db_connections.values():
            await conn.close()
        self._db_connections.clear()
        if self._database is not None:
            await self._database.close()
        if self._cache is not None:
            await self._cache.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    # -- Database ---------------------------------------------------------------------------

    async def _database_op(self, connection_id: str, op: str, p: dict[str, Any]) -> Any:
        conn = self._db_connections.get(connection_id)
        if conn is None:
            raise ServiceError(f"no database connection {connection_id!r}")
        tx = _arg(p, "transaction_id", str) if op.startswith("transaction_") else None
        base = op.removeprefix("transaction_")
        if base in ("execute", "query", "query_one"):
            sql = _arg(p, "query", str)
            params = p.get("params") or []
            if not isinstance(params, list):
                raise ServiceError(f"Database {op}: 'params' must be an array")
            if base == "execute":
                return await conn.execute(sql, params, tx)
            rows = [{"data": row} for row in await conn.query(sql, params, tx)]
            return rows if base == "query" else (rows[0] if rows else None)
        if op == "begin_transaction":
            return await conn.begin()
        if base in ("commit", "rollback") and tx is not None:
            await conn.finish(tx, commit=base == "commit")
            return None
        if op == "ping":
            return await conn.ping()
        if op == "close":
            await conn.close()
            self._db_connections.pop(connection_id, None)
            return None
        raise ServiceError(f"unknown Database operation {op!r}")

    # -- Cache ------------------------------------------------------------------------------

    async def _cache_op(self, connection_id: str, op: str, p: dict[str, Any]) -> Any:
        if connection_id not in self._cache_connections:
            raise ServiceError(f"no cache connection {connection_id!r}")
        cache = self._cache_backend()
        if op == "get":
            return _b64(await cache.get(_arg(p, "key", str)))
        if op == "set":
            await cache.set(_arg(p, "key", str), _unb64(p, "value"), _ttl(p))
            return None
        if op in ("delete", "exists"):
            return bool(await getattr(cache, op)(_arg(p, "key", str)))
        if op == "set_nx":
            return bool(await cache.set_nx(_arg(p, "key", str), _unb64(p, "value"), _ttl(p)))
        if op == "get_set":
            return _b64(await cache.get_set(_arg(p, "key", str), _unb64(p, "value")))
        if op == "increment":
            return int(await cache.increment(_arg(p, "key", str), _arg(p, "delta", int)))
        if op == "set_many":
            items = _arg(p, "items", dict)
            decoded = {k: _unb64(items, k) for k in items}
            await cache.set_many(decoded, _ttl(p))
            return None
        if op == "get_many":
            found = await cache.get_many(_keys(p))
            return {k: _b64(v) for k, v in found.items()}
        if op == "delete_many":
            return int(await cache.delete_many(_keys(p)))
        if op == "clear":
            namespace = p.get("namespace")
            await cache.clear(namespace if isinstance(namespace, str) else None)
            return None
        if op == "lock":
            ttl = _arg(p, "ttl_seconds", int)
            return await cache.lock(_arg(p, "key", str), float(ttl))
        if op == "unlock":
            return bool(await cache.unlock(_arg(p, "key", str), _arg(p, "lock_token", str)))
        if op in ("ping", "flush"):
            await getattr(cache, op)()
            return None
        if op == "close":
            self._cache_connections.discard(connection_id)
            return None
        if op == "stats":
            return _stats(await cache.stats())
        raise ServiceError(f"unknown Cache operation {op!r}")


def _arg(params: dict[str, Any], name: str, kind: type[Any]) -> Any:
    if name not in params:
        raise ServiceError(f"missing parameter {name!r}")
    value = params[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ServiceError(f"parameter {name!r} must be a {kind.__name__}")
    return value


def _keys(params: dict[str, Any]) -> list[str]:
    keys = _arg(params, "keys", list)
    if not all(isinstance(k, str) for k in keys):
        raise ServiceError("parameter 'keys' must be an array of strings")
    return list(keys)


def _ttl(params: dict[str, Any]) -> float | None:
    ttl = params.get("ttl_seconds")
    if ttl is None:
        return None
    if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
        raise ServiceError("parameter 'ttl_seconds' must be a non-negative integer or null")
    return float(ttl)


def _b64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode("ascii")


def _unb64(params: dict[str, Any], name: str) -> bytes:
    text = _arg(params, name, str)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ServiceError(f"parameter {name!r} is not standard base64") from None


def _stats(stats: Any) -> dict[str, Any]:
    data = asdict(stats) if is_dataclass(stats) and not isinstance(stats, type) else dict(stats)
    out = {k: v for k, v in data.items() if k != "additional_metrics" and v is not None}
    metrics = data.get("additional_metrics") or {}
    out["additional_metrics"] = {str(k): str(v) for k, v in metrics.items()}
    return out


def operation_echo(msg: ServiceOperation) -> bytes:
    """The original operation, echoed as ``params`` so the module can correlate (§7.3.3)."""
    from pywatt.core.messages import encode

    echo = json.loads(encode(msg))
    echo.pop("op", None)
    return dumps(echo)
