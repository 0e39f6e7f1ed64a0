"""Liveness and readiness: the checks behind a module's ``/health`` and ``/ready``.

``/health`` answers 200 while the process serves at all. ``/ready`` runs every check at once,
each under its own timeout, and answers 200 when all pass and 503 otherwise, with a JSON body
naming each check's state and latency. The built-in checks are found on the module:

- ``broker``: the broker connection is up;
- ``tcp_channel`` / ``unix_channel``: the optional channels are connected;
- one per database or cache in the user state (a field with an async ``ping()``), named after
  the field: ``ping()`` must return true.

``@module.health_check`` adds more. A check passes unless it raises, returns ``False`` or
runs out of time. Routes are served by the server adapter (pywatt-server), which asks the
runtime for :class:`Operations`.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from pywatt.core.module import ModuleContext
    from pywatt.core.state import AppState

__all__ = [
    "DEFAULT_CHECK_TIMEOUT",
    "HealthCheck",
    "Operations",
    "builtin_checks",
    "liveness",
    "readiness",
    "user_fields",
]

#: ``async def check() -> bool | None``; raising or returning ``False`` fails it.
HealthCheck = Callable[[], Awaitable[Any] | Any]
DEFAULT_CHECK_TIMEOUT = 2.0


@dataclass(frozen=True)
class Operations:
    """What the runtime asks the server adapter to serve beside the app.

    :param health: liveness path, or ``None`` for none.
    :param ready: readiness path, or ``None`` for none.
    :param metrics: Prometheus path, or ``None`` for none.
    :param metrics_required: fail at startup when metrics cannot be served (asked for
        explicitly); otherwise metrics are served only when prometheus-client is installed.
    :param prefix: route prefix (``"/v1"``) the app's own routes are served and announced under.
    :param checks: readiness checks by name, each with its timeout in seconds.
    :param context: the running module, for metrics that read its counters.
    """

    health: str | None = "/health"
    ready: str | None = "/ready"
    metrics: str | None = "/metrics"
    metrics_required: bool = False
    prefix: str = ""
    checks: Mapping[str, tuple[HealthCheck, float]] = field(default_factory=dict)
    context: ModuleContext | None = None

    def paths(self) -> list[str]:
        return [p for p in (self.health, self.ready, self.metrics) if p]

    async def readiness(self) -> tuple[int, dict[str, Any]]:
        return await readiness(self.checks)

    def liveness(self) -> dict[str, Any]:
        return liveness(self.context)


def liveness(ctx: ModuleContext | None) -> dict[str, Any]:
    """The ``/health`` body: the process is up."""
    body: dict[str, Any] = {"status": "ok"}
    if ctx is not None:
        body["module"] = ctx.config.module_id
        body["stopping"] = ctx.stop.stopping
    return body


async def _run_check(check: HealthCheck, timeout: float) -> dict[str, Any]:
    start = time.perf_counter()
    state, error = "ok", None
    with anyio.move_on_after(timeout) as scope:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result is False:
                state, error = "fail", "check returned false"
        except Exception as exc:
            from pywatt.core.redact import redact

            state, error = "fail", redact(f"{type(exc).__name__}: {exc}")
    if scope.cancelled_caught:
        state, error = "timeout", f"no answer within {timeout:g} s"
    entry: dict[str, Any] = {
        "status": state,
        "latency_ms": round((time.perf_counter() - start) * 1000, 3),
    }
    if error is not None:
        entry["error"] = error
    return entry


async def readiness(checks: Mapping[str, tuple[HealthCheck, float]]) -> tuple[int, dict[str, Any]]:
    """Run ``checks`` concurrently; ``(200 or 503, body)``."""
    results: dict[str, dict[str, Any]] = {}

    async def one(name: str, check: HealthCheck, timeout: float) -> None:
        results[name] = await _run_check(check, timeout)

    async with anyio.create_task_group() as tg:
        for name, (check, timeout) in checks.items():
            tg.start_soon(one, name, check, timeout)
    ok = all(r["status"] == "ok" for r in results.values())
    body = {"status": "ok" if ok else "fail", "checks": dict(sorted(results.items()))}
    return (200 if ok else 503), body


def user_fields(user: Any) -> list[tuple[str, Any]]:
    """The user state's top-level fields (a mapping's items, a dataclass's or object's fields)."""
    if isinstance(user, Mapping):
        return [(str(k), v) for k, v in user.items()]
    if is_dataclass(user) and not isinstance(user, type):
        return [(f.name, getattr(user, f.name, None)) for f in fields(user)]
    return list(getattr(user, "__dict__", {}).items())


def _pingable(value: Any) -> bool:
    ping = getattr(type(value), "ping", None)
    return ping is not None and inspect.iscoroutinefunction(ping)


def _connected(obj: Any) -> Callable[[], bool]:
    def check() -> bool:
        flag = getattr(obj, "connected", None)
        if flag is None:
            client = getattr(obj, "_nc", None) or getattr(obj, "_client", None)
            flag = getattr(client, "is_connected", True)
        return bool(flag() if callable(flag) else flag)

    return check


def builtin_checks(state: AppState[Any], timeout: float) -> dict[str, tuple[HealthCheck, float]]:
    """The checks every module gets: broker, channels, and the user state's databases/caches."""
    checks: dict[str, tuple[HealthCheck, float]] = {}
    broker = state.extensions.get("broker")
    if broker is not None:
        checks["broker"] = (_connected(getattr(broker, "raw", broker)), timeout)
    for name in ("tcp_channel", "unix_channel"):
        channel = state.extensions.get(name)
        if channel is not None:
            checks[name] = (_connected(channel), timeout)
    for name, value in user_fields(state.user):
        if not name.startswith("_") and _pingable(value):
            checks[name] = (value.ping, timeout)
    return checks
