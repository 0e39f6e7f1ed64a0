"""Readiness checks: each runs under its own timeout, and any failure makes the module unready."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from pywatt.core.config import AppConfig
from pywatt.core.health import builtin_checks, readiness
from pywatt.core.module import PyWattModule
from pywatt.core.redact import register_secret
from pywatt.core.state import AppState

pytestmark = pytest.mark.anyio


async def passes() -> bool:
    return True


async def hangs() -> bool:
    await anyio.sleep(60)
    return True


def sync_false() -> bool:
    return False


async def raises() -> None:
    raise ConnectionError("refused by redis://:hunter2-health@db")


async def test_all_passing_is_200_with_each_latency():
    status, body = await readiness({"a": (passes, 1.0), "b": (lambda: None, 1.0)})
    assert status == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"a", "b"}
    assert all(c["status"] == "ok" and c["latency_ms"] >= 0 for c in body["checks"].values())


async def test_each_failure_kind_is_named_and_makes_503():
    register_secret("hunter2-health")
    with anyio.fail_after(5):  # the checks run at once: one hung check costs its own timeout
        status, body = await readiness(
            {"ok": (passes, 1.0), "slow": (hangs, 0.2), "no": (sync_false, 1.0), "err": (raises, 1)}
        )
    assert status == 503
    checks = body["checks"]
    assert checks["ok"]["status"] == "ok"
    assert checks["slow"]["status"] == "timeout"
    assert (checks["no"]["status"], checks["no"]["error"]) == ("fail", "check returned false")
    assert checks["err"]["status"] == "fail"
    assert checks["err"]["error"].startswith("ConnectionError: ")
    assert "hunter2-health" not in checks["err"]["error"]  # errors are redacted


class Pingable:
    def __init__(self, up: bool) -> None:
        self.up = up

    async def ping(self) -> bool:
        return self.up


@dataclass
class UserState:
    db: Pingable
    cache: Pingable
    name: str
    _private: Pingable


class Broker:
    connected = False


class Channel:
    connected = True


async def test_builtin_checks_find_the_state_backends_broker_and_channels():
    user = UserState(Pingable(True), Pingable(False), "x", Pingable(True))
    state: AppState[Any] = AppState(config=AppConfig(module_id="m"), user=user)
    state.extensions.update(broker=Broker(), tcp_channel=Channel())
    checks = builtin_checks(state, 1.0)
    assert set(checks) == {"db", "cache", "broker", "tcp_channel"}
    status, body = await readiness(checks)
    assert status == 503
    states = {name: c["status"] for name, c in body["checks"].items()}
    assert states == {"db": "ok", "cache": "fail", "broker": "fail", "tcp_channel": "ok"}


def test_health_check_decorator_and_options():
    module: PyWattModule[Any] = PyWattModule(None, health="/healthz", metrics=False, version="v2")

    @module.health_check(timeout=0.5)
    async def search() -> bool:
        return True

    @module.health_check("named")
    def other() -> bool:
        return True

    assert module.health_checks == {"search": (search, 0.5), "named": (other, 2.0)}
    assert (module.health, module.metrics, module.prefix) == ("/healthz", None, "/v2")
    assert module._prefixed("/items") == "/v2/items"
    assert module._prefixed("/v2/items") == "/v2/items"
    default: PyWattModule[Any] = PyWattModule(None)
    assert (default.health, default.metrics, default.metrics_required) == (
        "/health",
        "/metrics",
        False,
    )
    assert PyWattModule(None, metrics=True).metrics_required
    assert PyWattModule(None, health=False).health is None
