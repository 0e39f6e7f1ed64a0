"""pywatt-server's plugin: the server adapters it provides, and traces when OpenTelemetry is."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import TYPE_CHECKING, Any

from pywatt.core.contracts import RegisterServerAdapter
from pywatt.core.plugins import hookimpl, lazy

if TYPE_CHECKING:
    from pywatt.core.config import AppConfig
    from pywatt.core.state import AppState


@hookimpl
def pywatt_register_server_adapters(register: RegisterServerAdapter) -> None:
    register("starlette", lazy("pywatt.server.adapters:StarletteAdapter", call=True))
    # FastAPI apps are Starlette apps: the name users reach for selects the same adapter.
    register("fastapi", lazy("pywatt.server.adapters:StarletteAdapter", call=True))
    register("flask", lazy("pywatt.server.adapters:FlaskAdapter", call=True))


@hookimpl
def pywatt_module_configured(config: AppConfig) -> None:
    _trace(config)


@hookimpl
def pywatt_module_started(state: AppState[Any]) -> None:
    # The app factory may have set the tracer provider after the configuration was read.
    _trace(state.config)


def _trace(config: AppConfig) -> None:
    """Trace the module with OpenTelemetry (``pywatt-server[otel]``) once an SDK is set.

    With the API alone nothing is installed: every instrumented point then costs one
    attribute read. ``PYWATT_TRACING=0`` (environment or init env) turns tracing off.
    """
    switch = config.env.get("PYWATT_TRACING") or os.environ.get("PYWATT_TRACING", "")
    if switch.lower() in ("0", "false", "off", "no"):
        return
    from pywatt.core.telemetry import get_tracing, set_tracing

    if get_tracing() is not None or importlib.util.find_spec("opentelemetry") is None:
        return
    # An SDK provider is set through opentelemetry.trace: while nothing has imported it, none
    # is set, and the API's import (tens of ms) is not paid at start-up for nothing.
    if "opentelemetry.trace" not in sys.modules:
        return
    from pywatt.server.tracing import OtelTracing, sdk_configured

    if sdk_configured():
        set_tracing(OtelTracing())
