"""Payload models of the service proxies (§7.3): connection configs, rows, cache stats.

Rust sends these as ``serde_json::Value`` (``to_value``), so inside a ``service_request`` their
keys are sorted; encoded on their own they keep declaration order, as ``to_string`` does.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from pywatt.core._wire import JsonValue, json_value

__all__ = [
    "CacheConfig",
    "CachePolicy",
    "CacheStats",
    "CacheType",
    "DatabaseConfig",
    "DatabaseRow",
    "DatabaseType",
    "Duration",
    "HealthStatus",
    "PoolConfig",
    "decode_database_config",
]

DatabaseType = Literal["postgres", "mysql", "sqlite"]
CacheType = Literal["InMemory", "Redis", "Memcached", "File"]
CachePolicy = Literal["LRU", "FIFO", "MRU", "LFU", "None"]
HealthStatus = Literal["Healthy", "Degraded", "Unhealthy"]


class _Payload(BaseModel):
    def to_value(self) -> dict[str, Any]:
        """The sorted-key JSON object Rust's ``serde_json::to_value`` would produce."""
        value: dict[str, Any] = json_value(self.model_dump(mode="json"))
        return value


class Duration(_Payload):
    """``std::time::Duration`` as serde writes it."""

    secs: int = Field(ge=0, le=2**64 - 1)
    nanos: int = Field(ge=0, le=999_999_999)

    @classmethod
    def from_timedelta(cls, delta: datetime.timedelta) -> Duration:
        if delta < datetime.timedelta(0):
            raise ValueError("a Duration cannot be negative")
        whole = delta // datetime.timedelta(seconds=1)
        return cls(secs=whole, nanos=delta.microseconds * 1000)

    def to_timedelta(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=self.secs, microseconds=self.nanos // 1000)


class PoolConfig(_Payload):
    max_connections: int = Field(default=10, ge=0)
    min_connections: int = Field(default=2, ge=0)
    idle_timeout_seconds: int = Field(default=300, ge=0)
    max_lifetime_seconds: int = Field(default=1800, ge=0)
    acquire_timeout_seconds: int = Field(default=30, ge=0)


class DatabaseConfig(_Payload):
    db_type: DatabaseType
    host: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    database: str
    username: str | None = None
    password: str | None = None
    ssl_mode: str | None = None
    pool: PoolConfig = Field(default_factory=PoolConfig)
    extra_params: dict[str, str] = Field(default_factory=dict)


class CacheConfig(_Payload):
    """``CacheConfig::default()`` of the SDK; its pool keeps one idle connection."""

    cache_type: CacheType = "InMemory"
    connection_timeout_seconds: int = Field(default=5, ge=0)
    database: int | None = Field(default=None, ge=0)
    default_ttl: Duration | None = None
    default_ttl_seconds: int | None = Field(default=300, ge=0)
    extra_params: dict[str, str] = Field(default_factory=dict)
    file_path: str | None = None
    hosts: list[str] = Field(default_factory=lambda: ["localhost"])
    max_size_bytes: int | None = Field(default=10 * 1024 * 1024, ge=0)
    namespace: str | None = None
    operation_timeout_seconds: int = Field(default=2, ge=0)
    password: str | None = None
    policy: CachePolicy = "LRU"
    pool: PoolConfig = Field(default_factory=lambda: PoolConfig(min_connections=1))
    port: int | None = Field(default=None, ge=0, le=65535)
    tls_enabled: bool = False
    username: str | None = None


class DatabaseRow(_Payload):
    """One row of a ``query`` result: the wrapper key is literally ``data``."""

    data: dict[str, JsonValue]


class CacheStats(_Payload):
    hits: int | None = None
    misses: int | None = None
    sets: int | None = None
    deletes: int | None = None
    item_count: int | None = None
    memory_used_bytes: int | None = None
    additional_metrics: dict[str, str]


_DATABASE_CONFIG: TypeAdapter[DatabaseConfig] = TypeAdapter(DatabaseConfig)


def decode_database_config(data: bytes | str) -> DatabaseConfig:
    """Parse a DatabaseConfig strictly (lowercase ``db_type``, integer ports)."""
    from pydantic import ValidationError

    from pywatt.core.errors import MessageDecodeError, MessageValidationError

    try:
        return _DATABASE_CONFIG.validate_json(data, strict=True)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid" or not first["loc"]:
            raise MessageDecodeError(f"database config: {first['msg']}") from exc
        where = ".".join(str(p) for p in first["loc"])
        raise MessageValidationError(f"database config: field {where!r}: {first['msg']}") from exc
