"""pywatt-server's plugin: the server adapters it provides."""

from __future__ import annotations

from pywatt.core.contracts import RegisterServerAdapter
from pywatt.core.plugins import hookimpl, lazy


@hookimpl
def pywatt_register_server_adapters(register: RegisterServerAdapter) -> None:
    register("starlette", lazy("pywatt.server.adapters:StarletteAdapter", call=True))
    # FastAPI apps are Starlette apps: the name users reach for selects the same adapter.
    register("fastapi", lazy("pywatt.server.adapters:StarletteAdapter", call=True))
    register("flask", lazy("pywatt.server.adapters:FlaskAdapter", call=True))
