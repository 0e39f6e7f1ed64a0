"""Secrets from the orchestrator: fetch, cache, typed access, rotation and redaction."""

from __future__ import annotations

import enum
import hmac
import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from pywatt.core.errors import SecretNotFoundError, SecretTimeoutError, SecretTypeError
from pywatt.core.redact import redact, register_secret

if TYPE_CHECKING:
    from pywatt.core.control import ControlChannel
    from pywatt.core.messages import Rotated, Secret as SecretMessage

__all__ = ["CacheMode", "RotationCallback", "Secret", "SecretClient"]

logger = logging.getLogger("pywatt.core.secrets")

T = TypeVar("T")
RotationCallback = Callable[[list[str]], "Awaitable[None] | None"]

#: The reference waits 5 s for a ``secret`` reply.
DEFAULT_SECRET_TIMEOUT = 5.0
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class CacheMode(enum.Enum):
    """How :meth:`SecretClient.get` uses its cache (PROTOCOL.md §6.2)."""

    CACHE_THEN_REMOTE = "cache_then_remote"
    FORCE_REMOTE = "force_remote"
    CACHE_ONLY = "cache_only"


class Secret(Generic[T]):
    """A secret value that never shows itself in ``repr``, ``str`` or f-strings."""

    __slots__ = ("_value", "name", "rotation_id")

    def __init__(self, name: str, value: T, rotation_id: str | None = None) -> None:
        self.name = name
        self._value = value
        self.rotation_id = rotation_id

    def expose(self) -> T:
        """The real value. Call it where the value is used, not earlier."""
        return self._value

    #: The names other secret types use (pydantic's, and the seed plan's SDK), kept thin.
    get_secret_value = expose
    expose_secret = expose

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, '[REDACTED]')"

    def __str__(self) -> str:
        return "[REDACTED]"

    def __format__(self, spec: str) -> str:
        return "[REDACTED]"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        a, b = self._value, other._value
        if isinstance(a, str) and isinstance(b, str):
            return hmac.compare_digest(a.encode(), b.encode())
        return bool(a == b)

    def __hash__(self) -> int:
        return hash((self.name, "secret"))

    def __reduce__(self) -> Any:
        raise TypeError("secrets are not picklable")


def convert(name: str, raw: str, type_: type[T]) -> T:
    """Parse a secret's text as ``type_``; errors never include the value."""
    try:
        if type_ is str:
            return raw  # type: ignore[return-value]
        if type_ is bool:
            low = raw.strip().lower()
            if low in _TRUE:
                return True  # type: ignore[return-value]
            if low in _FALSE:
                return False  # type: ignore[return-value]
            raise ValueError("not a boolean")
        if type_ is int:
            return int(raw.strip())  # type: ignore[return-value]
        if type_ is float:
            value = float(raw.strip())
            if not math.isfinite(value):
                raise ValueError("not finite")
            return value  # type: ignore[return-value]
        from pydantic import BaseModel, TypeAdapter

        if isinstance(type_, type) and issubclass(type_, BaseModel):
            return type_.model_validate_json(raw)
        return TypeAdapter(type_).validate_json(raw)
    except Exception as exc:
        # The value may appear in the parser's message: keep only the type of failure.
        raise SecretTypeError(
            f"secret {name!r} is not a valid {getattr(type_, '__name__', type_)} "
            f"({type(exc).__name__})"
        ) from None


class SecretClient:
    """Fetches secrets over the control channel, caching them by name."""

    def __init__(self, channel: ControlChannel, *, timeout: float = DEFAULT_SECRET_TIMEOUT) -> None:
        self._channel = channel
        self._timeout = timeout
        self._cache: dict[str, str] = {}
        self._rotation_ids: dict[str, str | None] = {}
        self._subscribers: list[RotationCallback] = []
        self.fetches = 0  # get_secret requests sent (metrics)
        self.rotations = 0  # rotated messages handled (metrics)
        channel.on("secret", self.handle_secret)
        channel.on("rotated", self.handle_rotated)

    @overload
    async def get(
        self, name: str, *, mode: CacheMode = ..., timeout: float | None = ...
    ) -> Secret[str]: ...

    @overload
    async def get(
        self, name: str, type_: type[T], *, mode: CacheMode = ..., timeout: float | None = ...
    ) -> Secret[T]: ...

    async def get(
        self,
        name: str,
        type_: type[Any] = str,
        *,
        mode: CacheMode = CacheMode.CACHE_THEN_REMOTE,
        timeout: float | None = None,
    ) -> Secret[Any]:
        """The secret ``name``, converted to ``type_`` (str, int, float, bool, a model...)."""
        raw = await self._raw(name, mode, self._timeout if timeout is None else timeout)
        return Secret(name, convert(name, raw, type_), self._rotation_ids.get(name))

    async def get_many(self, names: Iterable[str]) -> dict[str, Secret[str]]:
        return {name: await self.get(name) for name in names}

    def cached(self, name: str) -> bool:
        return name in self._cache

    async def _raw(self, name: str, mode: CacheMode, timeout: float) -> str:
        from pywatt.core.messages import GetSecret

        if mode is not CacheMode.FORCE_REMOTE and name in self._cache:
            return self._cache[name]
        if mode is CacheMode.CACHE_ONLY:
            raise SecretNotFoundError(f"secret {name!r} not found in cache")
        # A second caller for the same name waits for the first one's reply.
        request = None if self._channel.waiting("secret", name) else GetSecret(name=name)
        try:
            if request is not None:
                self.fetches += 1
            msg: SecretMessage = await self._channel.request("secret", name, request, timeout)
        except TimeoutError:
            raise SecretTimeoutError(
                f"orchestrator did not answer get_secret {name!r} within {timeout:g} s"
            ) from None
        return msg.value

    # -- incoming -------------------------------------------------------------------------

    def handle_secret(self, msg: SecretMessage) -> None:
        """Cache every ``secret`` (requested or pushed) and wake whoever waits for it."""
        register_secret(msg.value)
        self._cache[msg.name] = msg.value
        self._rotation_ids[msg.name] = msg.rotation_id
        self._channel.resolve("secret", msg.name, msg)

    def subscribe(self, callback: RotationCallback) -> Callable[[], None]:
        """Call ``callback(keys)`` on every rotation; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    async def handle_rotated(self, msg: Rotated) -> None:
        from pywatt.core.messages import RotationAck

        self.rotations += 1
        for key in msg.keys:
            self._cache.pop(key, None)
        failures: list[str] = []
        for callback in list(self._subscribers):
            try:
                result = callback(list(msg.keys))
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                logger.exception("rotation subscriber failed for %s", msg.rotation_id)
                failures.append(redact(f"{type(exc).__name__}: {exc}"))
        ack = (
            RotationAck(rotation_id=msg.rotation_id, status="error", message="; ".join(failures))
            if failures
            else RotationAck(rotation_id=msg.rotation_id, status="success")
        )
        # Fire-and-forget: the reference's wait for a reply swallows an unrelated line.
        await self._channel.send(ack)
