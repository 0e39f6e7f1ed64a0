"""pywatt-server's plugin: the server adapters it provides, and traces when OpenTelemetry is."""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING

from pywatt.core.hookspecs import Register
from pywatt.core.plugins import hookimpl, lazy

if TYPE_CHECKING:
    from pywatt.core.config import AppConfig


@hookimpl
def pywatt_register_server_adapters(register: Register) -> None:
    register("starlette", lazy("pywatt.server.adapters:StarletteAdapter", call=True))
    # FastAPI apps are Starlette apps: the name users reach for selects the same adapter.
    register("fastapi", lazy("pywatt.server.adapters:StarletteAdapter", call=True))
    register("flask", lazy("pywatt.server.adapters:FlaskAdapter", call=True))


@hookimpl
def pywatt_module_configured(config: AppConfig) -> None:
    """Trace the module when the OpenTelemetry API is installed (``pywatt-server[otel]``).

    ``PYWATT_TRACING=0`` (environment or init env) turns it off.
    """
    switch = config.env.get("PYWATT_TRACING") or os.environ.get("PYWATT_TRACING", "")
    if switch.lower() in ("0", "false", "off", "no"):
        return
    if importlib.util.find_spec("opentelemetry") is None:
        return
    from pywatt.core.telemetry import set_tracing
    from pywatt.server.tracing import OtelTracing

    set_tracing(OtelTracing())
