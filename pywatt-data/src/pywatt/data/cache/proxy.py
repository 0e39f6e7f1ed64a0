"""The ``proxy`` cache: a cache the orchestrator owns, reached over ``service_operation``.

A module running under an orchestrator can use it with no credentials of its own. Operation
names and parameter shapes follow PROTOCOL.md §7.3.2: values travel as standard base64,
TTLs in whole seconds.

Nothing is retried unless a resilience policy is set (``policy=`` or
``PYWATT_SERVICE_POLICIES``, see :mod:`pywatt.data._policy`), and then only the idempotent
operations are. When no answer comes back, or the orchestrator reports that its own backend
lost the connection mid-command, ``increment``, ``set_nx``, ``get_set`` and ``lock`` raise
:class:`~pywatt.data.errors.CacheOutcomeUnknownError`: they may have been applied.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio

from pywatt.core.errors import (
    CacheBackendError,
    CacheValueError,
    PyWattError,
    ServiceError,
    ServiceTimeoutError,
)
from pywatt.data._policy import CallPolicy, policy_from_env
from pywatt.data.cache.base import BackendStats, Cache, check_ttl
from pywatt.data.errors import CacheOutcomeUnknownError, OutcomeUnknownError

if TYPE_CHECKING:
    from pywatt.core.service_client import ServiceClient

__all__ = ["ProxyCache"]

#: Operations whose repetition, or whose unanswered first run, changes what is stored.
_NOT_IDEMPOTENT = frozenset({"set_nx", "get_set", "increment", "lock"})
#: ... and the ones a policy must not repeat either (a second unlock reports False).
_NO_RETRY = _NOT_IDEMPOTENT | {"unlock"}


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _bytes(value: Any) -> bytes | None:
    """A cache value as the orchestrator sends it: base64 text, an integer array, or null."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise CacheBackendError(
                f"orchestrator sent a value that is not base64: {exc}"
            ) from None
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b <= 255 for b in value):
        return bytes(value)
    raise CacheBackendError(f"orchestrator sent a cache value of type {type(value).__name__}")


def _seconds(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, math.ceil(ttl))


class ProxyCache(Cache):
    """Every operation is one ``service_operation`` on a connection opened on first use."""

    backend = "proxy"

    def __init__(
        self,
        *,
        config: Mapping[str, Any] | None = None,
        client: ServiceClient | None = None,
        namespace: str | None = None,
        policy: CallPolicy | None = None,
    ) -> None:
        super().__init__(namespace)
        #: Runs each operation (None: each runs once, as is).
        self.policy = policy if policy is not None else policy_from_env("Cache")
        self._config = dict(config) if config is not None else None
        self._client = client
        self._connection: str | None = None
        self._connect_lock = anyio.Lock()

    def _service_client(self) -> ServiceClient:
        if self._client is None:
            from pywatt.core.service_client import current_service_client

            self._client = current_service_client()
        return self._client

    async def _call(self, operation: str, params: dict[str, Any]) -> Any:
        client = self._service_client()
        if self._connection is None:
            async with self._connect_lock:
                if self._connection is None:
                    from pywatt.core.service_models import CacheConfig

                    # Keys arrive fully namespaced: the orchestrator's cache adds no prefix.
                    config = self._config
                    if config is None:
                        config = CacheConfig().to_value()
                    self._connection = await client.connect("Cache", config)
        run = functools.partial(client.operation, self._connection, "Cache", operation, params)
        try:
            if self.policy is None:
                return await run()
            return await self.policy.run(run, idempotent=operation not in _NO_RETRY)
        except (ServiceError, TimeoutError) as exc:
            # The orchestrator names its error's type; a timeout (the service's own or the
            # policy's) means no answer at all.
            unknown = "OutcomeUnknownError" in str(exc) or (
                isinstance(exc, TimeoutError) and operation in _NOT_IDEMPOTENT
            )
            if unknown:
                raise CacheOutcomeUnknownError(
                    f"proxy cache {operation}: it may or may not have been applied "
                    f"(outcome unknown): {exc}"
                ) from exc
            raise CacheBackendError(f"proxy cache {operation} failed: {exc}") from exc
        except PyWattError as exc:  # an open breaker: the operation was not sent
            raise CacheBackendError(f"proxy cache {operation} not sent: {exc}") from exc

    async def lock(self, key: str, ttl: float) -> str | None:
        """The orchestrator's own lock operation, so its tokens and expiry rule apply."""
        seconds = _seconds(check_ttl(ttl, required=True))
        token = await self._call("lock", {"key": self._lock_key(key), "ttl_seconds": seconds})
        if token is not None and not isinstance(token, str):
            raise CacheBackendError(
                f"orchestrator sent a lock token of type {type(token).__name__}"
            )
        return token

    async def ping(self) -> bool:
        try:
            await self._call("ping", {})
        except CacheBackendError:
            return False
        return True

    async def close(self) -> None:
        if self._connection is not None:
            try:
                await self._call("close", {})
            finally:
                self._connection = None

    async def _get(self, key: str) -> bytes | None:
        return _bytes(await self._call("get", {"key": key}))

    async def _set(self, key: str, value: bytes, ttl: float | None) -> None:
        await self._call("set", {"key": key, "ttl_seconds": _seconds(ttl), "value": _b64(value)})

    async def _delete(self, key: str) -> bool:
        return bool(await self._call("delete", {"key": key}))

    async def _exists(self, key: str) -> bool:
        return bool(await self._call("exists", {"key": key}))

    async def _set_nx(self, key: str, value: bytes, ttl: float | None) -> bool:
        params = {"key": key, "ttl_seconds": _seconds(ttl), "value": _b64(value)}
        return bool(await self._call("set_nx", params))

    async def _get_set(self, key: str, value: bytes) -> bytes | None:
        return _bytes(await self._call("get_set", {"key": key, "value": _b64(value)}))

    async def _increment(self, key: str, delta: int) -> int:
        try:
            result = await self._call("increment", {"delta": delta, "key": key})
        except CacheBackendError as exc:
            cause = exc.__cause__
            if isinstance(exc, OutcomeUnknownError):
                raise
            if isinstance(cause, ServiceError) and not isinstance(cause, ServiceTimeoutError):
                # The orchestrator answered and refused: the stored value is no integer (or
                # would overflow), the one way a reachable cache fails an increment.
                raise CacheValueError(str(exc)) from exc
            raise
        if not isinstance(result, int) or isinstance(result, bool):
            raise CacheBackendError(f"orchestrator sent an increment result {result!r}")
        return result

    async def _set_many(self, items: dict[str, bytes], ttl: float | None) -> None:
        encoded = {k: _b64(v) for k, v in items.items()}
        await self._call("set_many", {"items": encoded, "ttl_seconds": _seconds(ttl)})

    async def _get_many(self, keys: list[str]) -> dict[str, bytes]:
        result = await self._call("get_many", {"keys": keys}) or {}
        out: dict[str, bytes] = {}
        for k, v in dict(result).items():
            value = _bytes(v)
            if value is not None:
                out[k] = value
        return out

    async def _delete_many(self, keys: list[str]) -> int:
        return int(await self._call("delete_many", {"keys": keys}) or 0)

    async def _clear(self, prefix: str) -> None:
        await self._call("clear", {"namespace": prefix.rstrip(":") or None})

    async def _unlock(self, key: str, token: bytes) -> bool:
        params = {"key": key, "lock_token": token.decode()}
        return bool(await self._call("unlock", params))

    async def _stats(self, prefix: str) -> BackendStats:
        raw = await self._call("stats", {}) or {}
        metrics = raw.get("additional_metrics") or {}
        return BackendStats(
            item_count=raw.get("item_count"),
            memory_used_bytes=raw.get("memory_used_bytes"),
            # The orchestrator names its own store; ours is "proxy".
            additional_metrics={
                ("remote_backend" if k == "backend" else str(k)): str(v)
                for k, v in dict(metrics).items()
            },
        )
