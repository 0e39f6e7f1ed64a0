"""pywatt-server's plugin: the server adapters it provides."""

from __future__ import annotations

from pywatt.core.hookspecs import Register
from pywatt.core.plugins import hookimpl


@hookimpl
def pywatt_register_server_adapters(register: Register) -> None:
    from pywatt.server.adapters import FlaskAdapter, StarletteAdapter

    register("starlette", StarletteAdapter())
    register("flask", FlaskAdapter())
