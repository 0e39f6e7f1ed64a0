"""The entry point's module: registers the adapter by path, so it loads only when asked."""

from __future__ import annotations

from pywatt.core import RegisterServerAdapter, hookimpl, lazy


@hookimpl
def pywatt_register_server_adapters(register: RegisterServerAdapter) -> None:
    register("falcon", lazy("pywatt_falcon.adapter:FalconAdapter", call=True))
