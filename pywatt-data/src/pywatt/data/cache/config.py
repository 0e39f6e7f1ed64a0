"""Typed configurations of the built-in backends, and :func:`open_cache`.

Each configuration class is what its plugin registers under its URL scheme; its ``open()``
imports the backend (and so the driver) only when a cache is really built.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from pywatt.core.errors import ConfigError, PluginError
from pywatt.data.cache.base import Cache, CacheConfig, CacheSettings

if TYPE_CHECKING:
    from pywatt.core.contracts import CacheBackendFactory
    from pywatt.core.plugins import Plugins

__all__ = [
    "FileCacheConfig",
    "MemcachedCacheConfig",
    "MemoryCacheConfig",
    "ProxyCacheConfig",
    "RedisCacheConfig",
    "open_cache",
]


def _query(url: str, scheme: str, allowed: dict[str, type]) -> dict[str, object]:
    """The URL's query as typed keyword arguments; ``namespace`` is always allowed."""
    parts = urlsplit(url)
    if parts.scheme != scheme:
        raise ConfigError(f"expected a {scheme}:// URL, got {url!r}")
    allowed = {"namespace": str, **allowed}
    out: dict[str, object] = {}
    for name, raw in parse_qsl(parts.query, keep_blank_values=True):
        kind = allowed.get(name)
        if kind is None:
            have = ", ".join(sorted(allowed))
            raise ConfigError(f"unknown {scheme}:// URL option {name!r}; known: {have}")
        try:
            out[name] = kind(raw)
        except ValueError:
            raise ConfigError(
                f"{scheme}:// URL option {name}={raw!r} is not a {kind.__name__}"
            ) from None
    return out


def _positive(owner: str, **values: float) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ConfigError(f"{owner}.{name} must be positive, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class MemoryCacheConfig(CacheConfig):
    """``memory://`` or ``memory://?max_items=1000``: a cache private to this object."""

    scheme = "memory"
    max_items: int = 10_000

    def __post_init__(self) -> None:
        _positive("MemoryCacheConfig", max_items=self.max_items)

    @classmethod
    def from_url(cls, url: str) -> MemoryCacheConfig:
        return cls(**_query(url, cls.scheme, {"max_items": int}))  # type: ignore[arg-type]

    def open(self) -> Cache:
        from pywatt.data.cache.memory import MemoryCache

        return MemoryCache(max_items=self.max_items, namespace=self.namespace)


@dataclass(frozen=True, kw_only=True)
class FileCacheConfig(CacheConfig):
    """``file:///var/cache/app``: one file per key under ``directory``, shared across processes."""

    scheme = "file"
    directory: str

    def __post_init__(self) -> None:
        if not self.directory:
            raise ConfigError("FileCacheConfig.directory must not be empty")

    @classmethod
    def from_url(cls, url: str) -> FileCacheConfig:
        options = _query(url, cls.scheme, {})
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"file:// cache URLs name a local directory, got host in {url!r}")
        return cls(directory=unquote(parts.path), **options)  # type: ignore[arg-type]

    def open(self) -> Cache:
        from pywatt.data.cache.file import FileCache

        return FileCache(self.directory, namespace=self.namespace)


@dataclass(frozen=True, kw_only=True)
class RedisCacheConfig(CacheConfig):
    """``redis://[:password@]host:port/db``; a dropped connection is retried ``retries`` times."""

    scheme = "redis"
    url: str = "redis://127.0.0.1:6379/0"
    max_connections: int = 10
    pool_timeout: float = 10.0
    socket_timeout: float = 5.0
    connect_timeout: float = 5.0
    retries: int = 3
    client_name: str | None = None

    def __post_init__(self) -> None:
        _positive(
            "RedisCacheConfig",
            max_connections=self.max_connections,
            pool_timeout=self.pool_timeout,
            socket_timeout=self.socket_timeout,
            connect_timeout=self.connect_timeout,
        )
        if self.retries < 0:
            raise ConfigError(f"RedisCacheConfig.retries must be >= 0, got {self.retries!r}")

    @classmethod
    def from_url(cls, url: str) -> RedisCacheConfig:
        options = _query(
            url,
            cls.scheme,
            {"max_connections": int, "retries": int, "client_name": str, "socket_timeout": float},
        )
        base = urlsplit(url)._replace(query="").geturl()
        return cls(url=base, **options)  # type: ignore[arg-type]

    def open(self) -> Cache:
        from pywatt.data.cache.redis import RedisCache

        return RedisCache(self)


@dataclass(frozen=True, kw_only=True)
class MemcachedCacheConfig(CacheConfig):
    """``memcached://host:port``: a pooled pymemcache client driven from worker threads."""

    scheme = "memcached"
    host: str = "127.0.0.1"
    port: int = 11211
    max_connections: int = 10
    connect_timeout: float = 5.0
    timeout: float = 5.0

    def __post_init__(self) -> None:
        _positive(
            "MemcachedCacheConfig",
            port=self.port,
            max_connections=self.max_connections,
            connect_timeout=self.connect_timeout,
            timeout=self.timeout,
        )

    @classmethod
    def from_url(cls, url: str) -> MemcachedCacheConfig:
        options = _query(url, cls.scheme, {"max_connections": int, "timeout": float})
        parts = urlsplit(url)
        try:
            port = parts.port or 11211
        except ValueError:
            raise ConfigError(f"memcached URL {url!r} has an invalid port") from None
        host = parts.hostname or "127.0.0.1"
        return cls(host=host, port=port, **options)  # type: ignore[arg-type]

    def open(self) -> Cache:
        from pywatt.data.cache.memcached import MemcachedCache

        return MemcachedCache(self)


@dataclass(frozen=True, kw_only=True)
class ProxyCacheConfig(CacheConfig):
    """``proxy://`` or ``proxy://?cache_type=Redis``: the orchestrator's cache (PROTOCOL §7.3).

    Only works inside a running module; ``cache_type`` is what the module asks the
    orchestrator for (``InMemory``, ``Redis``, ``Memcached`` or ``File``).
    """

    scheme = "proxy"
    cache_type: str = "InMemory"

    def __post_init__(self) -> None:
        if self.cache_type not in ("InMemory", "Redis", "Memcached", "File"):
            raise ConfigError(f"unknown proxy cache_type {self.cache_type!r}")

    @classmethod
    def from_url(cls, url: str) -> ProxyCacheConfig:
        return cls(**_query(url, cls.scheme, {"cache_type": str}))  # type: ignore[arg-type]

    def open(self) -> Cache:
        from pywatt.core.service_models import CacheConfig as WireCacheConfig
        from pywatt.data.cache.proxy import ProxyCache

        wire = WireCacheConfig(cache_type=self.cache_type)
        return ProxyCache(config=wire.to_value(), namespace=self.namespace)


def open_cache(
    target: str | CacheConfig,
    *,
    namespace: str | None = None,
    plugins: Plugins | None = None,
) -> Cache:
    """Build a cache from a URL (backend chosen by its scheme) or a typed configuration.

    :param target: e.g. ``"memory://"``, ``"redis://127.0.0.1:6379/0"``, or a config object.
    :param namespace: overrides the configuration's namespace.
    :param plugins: the registries to look the scheme up in (default: the installed plugins).
    """
    if isinstance(target, str):
        scheme, sep, _ = target.partition("://")
        if not sep or not scheme:
            raise ConfigError(f"a cache URL looks like 'scheme://...', got {target!r}")
        if plugins is None:
            from pywatt.core.plugins import get_plugins

            plugins = get_plugins()
        registry = plugins.cache_backends
        backend = registry.get(scheme)
        if isinstance(backend, type) and issubclass(backend, CacheConfig):
            config = backend.from_url(target)
        else:
            # A cache class or factory: it gets the URL and namespace, and parses the rest.
            factory = cast("CacheBackendFactory", backend)
            cache = factory(CacheSettings.from_url(target, namespace))
            return _checked(cache, scheme, registry.owner(scheme))
    elif isinstance(target, CacheConfig):
        config = target
    else:
        raise ConfigError(f"open_cache takes a URL or a CacheConfig, got {type(target).__name__}")
    if namespace is not None:
        config = dataclasses.replace(config, namespace=namespace)
    return _checked(config.open(), config.scheme, None)


def _checked(cache: object, scheme: str, owner: str | None) -> Cache:
    if not isinstance(cache, Cache):
        by = f" from plugin {owner!r}" if owner else ""
        raise PluginError(
            f"cache backend {scheme!r}{by} built a {type(cache).__name__}, not a pywatt.data.Cache"
        )
    return cache
